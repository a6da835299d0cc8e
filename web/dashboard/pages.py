"""Dashboard pages and the HTMX fragments they include. Every route here needs a signed-in user."""
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from common.campaigns import (
    CampaignError,
    create_campaign,
    get_campaign,
    has_revenue,
    mark_deleted,
    purge_deleted_campaigns,
    set_archived,
    update_campaign,
)
from common.campaigns import Money as CampaignMoney
from common.db import Database
from common.models import Campaign
from common.money import currencies
from common.vocabulary import EVENT_TYPES
from web.dashboard import queries
from web.dashboard.auth import EDIT, EDIT_PAGE, current_user
from web.dashboard.campaign_table import (
    COLUMNS,
    DEFAULT_SORT,
    DESCENDING_FIRST,
    SORTS,
    TableQuery,
    campaign_table,
)
from web.dashboard.chart import build_chart
from web.dashboard.counts import Counts, total
from web.dashboard.deps import Db, DbSession
from web.dashboard.drill_down import ReportValue
from web.dashboard.export import csv_download
from web.dashboard.figures import campaign_figures, campaign_timeline
from web.dashboard.period import PRESETS, Period
from web.dashboard.queries import JourneyCursor, JourneyFilters
from web.dashboard.render import is_htmx, render, secured
from web.dashboard.timing import TimedRoute

MAX_CAMPAIGN_ID = 2**31 - 1

router = APIRouter(dependencies=[Depends(current_user)], include_in_schema=False, route_class=TimedRoute)

EVENT_CHOICES = tuple((t.name, t.label) for t in EVENT_TYPES)

# Filter parameters as the journeys filter form sends them; `offset` only on "Load more".
Domain = Annotated[str | None, Query(max_length=255)]
EventFilter = Annotated[str | None, Query(max_length=50)]
Search = Annotated[str | None, Query(alias="q", max_length=1000)]
# A report row's drill-down (the Reports tab): journeys with an event of that value.
ReportBy = Annotated[str | None, Query(alias="by", max_length=100)]
ReportValueParam = Annotated[str | None, Query(alias="value", max_length=1000)]
# A pair's row (`?by=country&then=device`): journeys with an event of both values.
ReportThen = Annotated[str | None, Query(alias="then", max_length=100)]
ReportThenValue = Annotated[str | None, Query(alias="then_value", max_length=1000)]


def _report_value(request: Request, by: ReportBy = None, value: ReportValueParam = None, then: ReportThen = None,
                  then_value: ReportThenValue = None) -> ReportValue | None:
    return ReportValue.parse(by, value, request.app.state.settings.dashboard_timezone, then, then_value)


ReportDep = Annotated[ReportValue | None, Depends(_report_value)]
# `?counts=all`: every event; anything else: people only (bots subtracted). Kept in every URL a page makes.
CountsMode = Annotated[str | None, Query(alias="counts", max_length=10)]
ALL_COUNTS = {"counts": "all"}
# Parameters that belong to one request only, never carried into the links a page makes.
_ONE_OFF = ("offset", "after")
_PERIOD_KEYS = ("range", "from", "to")


def utc_now() -> datetime:
    """Now, as events are stored: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def _period(request: Request, range_: Annotated[str | None, Query(alias="range", max_length=10)] = None,
            first: Annotated[str | None, Query(alias="from", max_length=10)] = None,
            last: Annotated[str | None, Query(alias="to", max_length=10)] = None) -> Period:
    """The campaign page's date range (`range=today|7d|30d|custom&from=&to=`); all time by default."""
    return Period.parse(range_, first, last, now=utc_now(), tz=request.app.state.settings.timezone)


PeriodDep = Annotated[Period, Depends(_period)]


def _url(path: str, params: list[tuple[str, str]]) -> str:
    return path + (f"?{urlencode(params)}" if params else "")


def _kept_params(request: Request, *dropped: str) -> list[tuple[str, str]]:
    """This request's non-empty query parameters, but for `dropped` and the one-off ones, for links to make."""
    return [(k, v) for k, v in request.query_params.multi_items() if v and k not in (*dropped, *_ONE_OFF)]


def _counts_context(request: Request, counts: str | None, path: str | None = None,
                    period: Period | None = None) -> dict[str, Any]:
    """Which counts the page shows, the query string that keeps that choice (and the date range, on a
    campaign's pages), and the header switch's links: the page's URL (`path`, default this request's) with
    and without `counts=all`, other parameters kept."""
    all_counts = counts == "all"
    path = path or request.url.path
    keep = _kept_params(request, "counts")
    counts_params = ALL_COUNTS if all_counts else {}
    view_params = {**counts_params, **(period.params() if period else {})}
    return {
        "all_counts": all_counts,
        "counts_params": counts_params,
        "counts_query": "?counts=all" if all_counts else "",
        "period": period or Period(),
        "view_params": view_params,
        "view_query": f"?{urlencode(view_params)}" if view_params else "",
        "toggle_urls": {
            "human": path + (f"?{urlencode(keep)}" if keep else ""),
            "all": path + "?" + urlencode([*keep, *ALL_COUNTS.items()]),
        },
    }


def _range_context(request: Request, path: str, *dropped: str) -> dict[str, Any]:
    """The date range bar's links: the page at `path` for each preset, the other parameters (counts switch,
    filters) kept but for `dropped`; and those other parameters as hidden fields of the custom range's form."""
    keep = _kept_params(request, *_PERIOD_KEYS, *dropped)
    presets: list[tuple[str, str, list[tuple[str, str]]]] = [("all", "All time", [])]
    presets += [(key, label, [("range", key)]) for key, (_, label) in PRESETS.items()]
    return {
        "range_links": [(key, label, path + (f"?{urlencode(keep + extra)}" if keep + extra else ""))
                        for key, label, extra in presets],
        "range_hidden": keep,
        "range_action": path,
    }


class CampaignNotFound(Exception):
    """An unknown campaign id in a dashboard URL; rendered as the 404 page."""


def _campaign_or_404(session: DbSession, campaign_id: int) -> Campaign:
    # Ids are Postgres integers: a longer number in the URL is simply not a campaign (not a database error).
    if campaign_id > MAX_CAMPAIGN_ID:
        raise CampaignNotFound()
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    if campaign is None or campaign.deleted_at is not None:
        raise CampaignNotFound()
    return campaign


CampaignDep = Annotated[Campaign, Depends(_campaign_or_404)]


Archived = Annotated[bool, Query()]


# The home table's own parameters (web/dashboard/campaign_table.py), kept in its links like the counts switch.
SearchName = Annotated[str | None, Query(alias="q", max_length=255)]
Sort = Annotated[str | None, Query(max_length=20)]
Direction = Annotated[str | None, Query(alias="dir", max_length=4)]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
_TABLE_KEYS = ("q", "sort", "dir", "page")


def _table_query(request: Request, *, all_counts: bool, archived: bool, period: Period, search: str | None,
                 sort: str | None, direction: str | None, page: int) -> TableQuery:
    """The table's query from its parameters: an unknown sort is the default, an unknown direction the
    column's own."""
    key = sort if sort in SORTS else DEFAULT_SORT
    descending = direction == "desc" if direction in ("asc", "desc") else DESCENDING_FIRST[key]
    return TableQuery(archived=archived, all_counts=all_counts, period=period,
                      search=(search or "").strip() or None, sort=key, descending=descending, page=page,
                      page_size=request.app.state.settings.campaigns_page_size,
                      timezone=request.app.state.settings.timezone)


def _home_context(request: Request, session: DbSession, counts: str | None, archived: bool, period: Period,
                  search: str | None, sort: str | None, direction: str | None, page: int) -> dict[str, Any]:
    context = _counts_context(request, counts, path="/", period=period)
    query = _table_query(request, all_counts=context["all_counts"], archived=archived, period=period,
                         search=search, sort=sort, direction=direction, page=page)
    table = campaign_table(session=session, query=query)
    state = [(k, v) for k, v in _kept_params(request) if k not in _TABLE_KEYS]  # counts, archived, range
    table_state = [*state, *([("q", query.search)] if query.search else [])]
    default_order = query.sort == DEFAULT_SORT and query.descending == DESCENDING_FIRST[DEFAULT_SORT]
    sort_state = table_state + ([] if default_order else [("sort", query.sort),
                                                          ("dir", "desc" if query.descending else "asc")])
    page_state = [*sort_state, *([("page", str(query.page))] if query.page > 1 else [])]

    def sort_link(key: str) -> dict[str, str]:
        descending = not query.descending if key == query.sort else DESCENDING_FIRST[key]
        params = [*table_state, ("sort", key), ("dir", "desc" if descending else "asc")]
        return {"page": _url("/", params), "fragment": _url("/campaigns", params)}

    def page_link(number: int) -> dict[str, str]:
        params = [*sort_state, *([("page", str(number))] if number > 1 else [])]
        return {"page": _url("/", params), "fragment": _url("/campaigns", params)}

    return {
        **context,
        **_range_context(request, "/", *_TABLE_KEYS),
        "table": table,
        "campaigns": table.rows,
        "columns": COLUMNS,
        "sort_links": {key: sort_link(key) for key, _, _ in COLUMNS},
        "prev_link": page_link(query.page - 1) if query.page > 1 else None,
        "next_link": page_link(query.page + 1) if query.page < table.pages else None,
        "search_hidden": [(k, v) for k, v in sort_state],
        "archived": archived,
        "archived_count": queries.count_archived(session=session),
        "deleting": queries.campaigns_being_deleted(session=session),
        "table_url": _url("/campaigns", page_state),
        "page_url": _url("/", page_state),
    }


@router.get("/")
def home(request: Request, session: DbSession, period: PeriodDep, counts: CountsMode = None,
         archived: Archived = False, search: SearchName = None, sort: Sort = None, direction: Direction = None,
         page: PageNumber = 1) -> Response:
    """The campaigns, compared: the seed's columns, then conversion rate and money, sorted, searched, in a date
    range, a page at a time."""
    return render(request, "home.html",
                  _home_context(request, session, counts, archived, period, search, sort, direction, page))


@router.get("/campaigns")
def campaigns_table(request: Request, session: DbSession, period: PeriodDep, counts: CountsMode = None,
                    archived: Archived = False, search: SearchName = None, sort: Sort = None,
                    direction: Direction = None, page: PageNumber = 1) -> Response:
    """The home page's table, polled by the page and fetched by its sort, search and page controls; the
    address bar follows (HX-Push-Url)."""
    context = _home_context(request, session, counts, archived, period, search, sort, direction, page)
    headers = {"HX-Push-Url": context["page_url"]} if is_htmx(request) else {}
    return render(request, "partials/campaigns_table.html", context, headers=headers)


@router.get("/create", dependencies=EDIT_PAGE)
def create_page(request: Request) -> Response:
    form = {"currency": request.app.state.settings.default_currency}
    return render(request, "create.html", _form_context(form, {}))


# The campaign form's fields (web/dashboard/money.py has the cost rule).
FormText = Annotated[str, Form(max_length=4096)]


def _form_context(form: dict[str, str], errors: dict[str, str], *, currency_locked: bool = False) -> dict[str, Any]:
    return {"form": form, "errors": errors, "currencies": sorted(currencies()), "currency_locked": currency_locked}


def _money(currency: str, cost_total: str, cost_per_click: str) -> CampaignMoney:
    return CampaignMoney(currency=currency or None, cost_total=cost_total, cost_per_click=cost_per_click)


@router.post("/campaigns", dependencies=EDIT)
def create(request: Request, session: DbSession, name: FormText = "", offer_url: FormText = "",
           currency: FormText = "", cost_total: FormText = "", cost_per_click: FormText = "") -> Response:
    """Create a campaign; HTMX gets the form back with inline errors, or is sent on to the new campaign."""
    money_form = _money(currency or request.app.state.settings.default_currency, cost_total, cost_per_click)
    try:
        campaign = create_campaign(session=session, name=name, offer_url=offer_url, money=money_form)
    except CampaignError as exc:
        form = {"name": name, "offer_url": offer_url, "currency": money_form.currency or "", "cost_total": cost_total,
                "cost_per_click": cost_per_click}
        template = "partials/campaign_form.html" if is_htmx(request) else "create.html"
        return render(request, template, _form_context(form, exc.errors), status_code=422)
    session.commit()
    # HX-Location: HTMX fetches the new page and swaps it in, pushing its URL: no full page load.
    return _go_to(request, f"/campaign/{campaign.id}")


def _journeys_context(session: DbSession, campaign: Campaign, filters: JourneyFilters, page_size: int,
                      view_params: dict[str, str], period: Period, offset: int = 0,
                      after: str | None = None) -> dict[str, Any]:
    """The journeys table's rows and footer. `offset` counts the rows already shown; `after` is where they
    ended (without it, e.g. in a hand-made URL, the listing skips `offset` rows instead)."""
    rows, has_more = queries.list_journeys(session=session, campaign_id=campaign.id, filters=filters,
                                           limit=page_size, offset=offset, after=JourneyCursor.decode(after),
                                           period=period)
    shown = offset + len(rows)
    next_url = None
    if has_more:
        cursor = JourneyCursor.after(rows[-1]).encode()
        next_url = f"/campaign/{campaign.id}/users?" + urlencode(
            {"offset": shown, **filters.params(), **view_params, "after": cursor})
    if not has_more and offset == 0 and filters.search:
        total = queries.Total(len(rows))  # everything that matches is on the page: nothing left to count
    else:
        total = queries.count_journeys(session=session, campaign_id=campaign.id, filters=filters, period=period)
    return {
        "campaign": campaign,
        "filters": filters,
        "rows": rows,
        "shown": shown,
        "total": total,
        "next_url": next_url,
    }


def _chart_context(request: Request, session: DbSession, campaign: Campaign, period: Period,
                   all_counts: bool, revenue: bool = False) -> dict[str, Any]:
    settings = request.app.state.settings
    timeline = campaign_timeline(session=session, campaign=campaign, period=period,
                                 zone=settings.dashboard_timezone, now=utc_now())
    chart_path = f"/campaign/{campaign.id}/chart"
    keep = _kept_params(request, "revenue")
    return {
        "chart": build_chart(timeline.starts, timeline.counts, timeline.bucket, all_counts=all_counts,
                             zone=settings.dashboard_timezone,
                             revenue_in=campaign.currency if revenue else None),
        # The fragment's own URL (it polls it), and the same with the revenue switched the other way.
        "chart_url": _url(chart_path, [*keep, *([("revenue", "1")] if revenue else [])]),
        "revenue_toggle_url": _url(chart_path, [*keep, *([] if revenue else [("revenue", "1")])]),
    }


def _stats_context(session: DbSession, campaign: Campaign, period: Period, all_counts: bool,
                   totals: Counts | None = None) -> dict[str, Any]:
    figures = campaign_figures(session=session, campaign=campaign, period=period, all_counts=all_counts,
                               totals=totals)
    return {"campaign": campaign, "totals": figures.shown, "all_totals": figures.totals, "money": figures.money}


def _domains_context(all_counts: bool, domains: list[queries.DomainRow]) -> dict[str, Any]:
    return {"domains": [d.shown(all_counts) for d in domains]}


@router.get("/campaign/{campaign_id:int}")
def campaign_page(request: Request, session: DbSession, campaign: CampaignDep, period: PeriodDep,
                  domain: Domain = None, event: EventFilter = None, search: Search = None,
                  counts: CountsMode = None, report: ReportDep = None) -> Response:
    """The campaign page; the filter parameters let the journeys filter work without JavaScript too."""
    filters = JourneyFilters.parse(domain=domain, event=event, search=search, report=report)
    page_size = request.app.state.settings.journeys_page_size
    context = _counts_context(request, counts, period=period)
    all_counts = context["all_counts"]
    domains = queries.domain_rows(session=session, campaign_id=campaign.id, period=period)
    # In a range the totals are the domains' sum: one read of hourly_stats, not two.
    totals = None if period.is_all else total(domains)
    return render(request, "campaign.html", {
        **context,
        **_range_context(request, f"/campaign/{campaign.id}"),
        **_journeys_context(session, campaign, filters, page_size, context["view_params"], period),
        **_stats_context(session, campaign, period, all_counts, totals),
        **_domains_context(all_counts, domains),
        # Every sending domain the campaign has, whatever the range shows.
        "domain_choices": queries.campaign_domains(session=session, campaign_id=campaign.id),
        "event_choices": EVENT_CHOICES,
    })


@router.get("/campaign/{campaign_id:int}/stats")
def overall_stats(request: Request, session: DbSession, campaign: CampaignDep, period: PeriodDep,
                  counts: CountsMode = None) -> Response:
    context = _counts_context(request, counts, period=period)
    return render(request, "partials/overall_stats.html",
                  {**context, **_stats_context(session, campaign, period, context["all_counts"])})


@router.get("/campaign/{campaign_id:int}/domains")
def domain_stats(request: Request, session: DbSession, campaign: CampaignDep, period: PeriodDep,
                 counts: CountsMode = None) -> Response:
    context = _counts_context(request, counts, period=period)
    domains = queries.domain_rows(session=session, campaign_id=campaign.id, period=period)
    return render(request, "partials/domain_stats.html",
                  {**context, "campaign": campaign, **_domains_context(context["all_counts"], domains)})


@router.get("/campaign/{campaign_id:int}/chart")
def chart(request: Request, session: DbSession, campaign: CampaignDep, period: PeriodDep,
          counts: CountsMode = None, revenue: Annotated[bool, Query()] = False) -> Response:
    """The events-over-time chart (SVG), polled by the campaign page; `revenue=1` adds the revenue line."""
    context = _counts_context(request, counts, period=period)
    return render(request, "partials/chart.html",
                  {**context, "campaign": campaign,
                   **_chart_context(request, session, campaign, period, context["all_counts"], revenue)})


@router.get("/campaign/{campaign_id:int}/users")
def journeys(request: Request, session: DbSession, campaign: CampaignDep, period: PeriodDep, domain: Domain = None,
             event: EventFilter = None, search: Search = None, counts: CountsMode = None, report: ReportDep = None,
             offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
             after: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    """The journeys table for the filters; with an offset ("Load more"), just the next rows and the footer."""
    filters = JourneyFilters.parse(domain=domain, event=event, search=search, report=report)
    page_size = request.app.state.settings.journeys_page_size
    counts_context = _counts_context(request, counts, path=f"/campaign/{campaign.id}", period=period)
    context = {**counts_context, **_journeys_context(session, campaign, filters, page_size,
                                                     counts_context["view_params"], period, offset=offset,
                                                     after=after)}
    if offset:
        return render(request, "partials/journey_rows_more.html", context)
    # The address bar follows the filters, so a reload or a shared link shows the same table; the header's
    # counts switch and the date range bar are swapped along (out of band) so that they keep these filters too.
    params = {**filters.params(), **counts_context["view_params"]}
    page_url = f"/campaign/{campaign.id}" + (f"?{urlencode(params)}" if params else "")
    return render(request, "partials/journeys.html",
                  {**context, **_range_context(request, f"/campaign/{campaign.id}"), "oob_toggle": is_htmx(request)},
                  headers={"HX-Push-Url": page_url})


# --- export -------------------------------------------------------------------------------------------------

@router.get("/campaign/{campaign_id:int}/export/events.csv")
def export_events(db: Db, session: DbSession, campaign: CampaignDep, period: PeriodDep, domain: Domain = None,
                  event: EventFilter = None, search: Search = None, report: ReportDep = None) -> Response:
    """Every event of the campaign (for the journeys filters and the date range), streamed as CSV."""
    filters = JourneyFilters.parse(domain=domain, event=event, search=search, report=report)
    stmt = queries.export_events_query(session=session, campaign_id=campaign.id, filters=filters, period=period)
    return csv_download(db, f"campaign-{campaign.id}-events.csv", stmt)


@router.get("/campaign/{campaign_id:int}/export/journeys.csv")
def export_journeys(db: Db, session: DbSession, campaign: CampaignDep, period: PeriodDep, domain: Domain = None,
                    event: EventFilter = None, search: Search = None, report: ReportDep = None) -> Response:
    """The journeys matching the filters (first seen in the date range), streamed as CSV."""
    filters = JourneyFilters.parse(domain=domain, event=event, search=search, report=report)
    stmt = queries.export_journeys_query(session=session, campaign_id=campaign.id, filters=filters, period=period)
    return csv_download(db, f"campaign-{campaign.id}-journeys.csv", stmt)


# --- manage: edit, archive, delete ----------------------------------------------------------------------

@router.get("/campaign/{campaign_id:int}/edit", dependencies=EDIT_PAGE)
def edit_page(request: Request, session: DbSession, campaign: CampaignDep) -> Response:
    form = {"name": campaign.name, "offer_url": campaign.offer_url, "currency": campaign.currency,
            "cost_total": _amount_text(campaign.cost_total), "cost_per_click": _amount_text(campaign.cost_per_click),
            "id_links": "1" if campaign.id_links else "0"}
    return render(request, "edit.html", _edit_context(session, campaign, form, {}))


def _amount_text(amount: Decimal | None) -> str:
    """An amount as the form shows it: 250.000000 -> "250", 0.050000 -> "0.05"."""
    return "" if amount is None else f"{amount.normalize():f}"


def _edit_context(session: DbSession, campaign: Campaign, form: dict[str, str],
                  errors: dict[str, str]) -> dict[str, Any]:
    # The create form, pointed at this campaign; its currency is fixed once it has revenue.
    return {"campaign": campaign, **_form_context(form, errors, currency_locked=has_revenue(session=session,
                                                                                           campaign=campaign)),
            "action": f"/campaign/{campaign.id}/edit", "submit_label": "Save Changes"}


@router.post("/campaign/{campaign_id:int}/edit", dependencies=EDIT)
def edit(request: Request, session: DbSession, campaign: CampaignDep, name: FormText = "", offer_url: FormText = "",
         currency: FormText = "", cost_total: FormText = "", cost_per_click: FormText = "",
         id_links: Annotated[str | None, Form(max_length=1)] = None) -> Response:
    """Save the name, offer URL, costs and (while it has no revenue) the currency, and whether old /r/<id>
    links still redirect (left alone when the form does not say); errors come back inline, like the create
    form's. The costs apply to the whole campaign, every range included."""
    try:
        update_campaign(session=session, campaign=campaign, name=name, offer_url=offer_url,
                        money=_money(currency, cost_total, cost_per_click),
                        id_links=None if id_links is None else id_links == "1")
    except CampaignError as exc:
        session.rollback()
        form = {"name": name, "offer_url": offer_url, "currency": currency or campaign.currency,
                "cost_total": cost_total, "cost_per_click": cost_per_click,
                "id_links": id_links or ("1" if campaign.id_links else "0")}
        context = _edit_context(session, campaign, form, exc.errors)
        template = "partials/campaign_form.html" if is_htmx(request) else "edit.html"
        return render(request, template, context, status_code=422)
    session.commit()
    return _go_to(request, f"/campaign/{campaign.id}")


@router.post("/campaign/{campaign_id:int}/archive", dependencies=EDIT)
def archive(request: Request, session: DbSession, campaign: CampaignDep,
            archived: Annotated[bool, Form()] = True) -> Response:
    """Archive (or bring back) a campaign. Archived campaigns keep accepting and counting events."""
    set_archived(session=session, campaign=campaign, archived=archived)
    session.commit()
    return _go_to(request, f"/campaign/{campaign.id}")


@router.get("/campaign/{campaign_id:int}/delete", dependencies=EDIT_PAGE)
def delete_page(request: Request, session: DbSession, campaign: CampaignDep) -> Response:
    """The confirmation: what deleting removes, and that it cannot be undone."""
    totals = queries.campaign_totals(session=session, campaign_id=campaign.id)
    return render(request, "delete.html", {"campaign": campaign, "totals": totals})


def _purge_in_background(db: Database) -> None:
    with db.connection() as conn:
        purge_deleted_campaigns(conn)


@router.post("/campaign/{campaign_id:int}/delete", dependencies=EDIT)
def delete(request: Request, db: Db, session: DbSession, campaign: CampaignDep,
           background: BackgroundTasks) -> Response:
    """Hide the campaign at once; its events, journeys and stats are removed in batches after the answer."""
    mark_deleted(session=session, campaign=campaign)
    session.commit()
    background.add_task(_purge_in_background, db)
    return _go_to(request, "/")


def _go_to(request: Request, url: str) -> Response:
    """After a successful POST: HTMX swaps in the page without a reload; a plain form is redirected."""
    if is_htmx(request):
        return secured(Response(headers={"HX-Location": json.dumps({"path": url, "target": "body"})}))
    return secured(RedirectResponse(url, status_code=303))
