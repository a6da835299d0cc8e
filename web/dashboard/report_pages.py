"""The campaign's Reports tab: `/campaign/{id}/reports?by=<dimension>[&then=<dimension>]`, its table (the fragment
HTMX swaps when the dimension, sort or range changes) and its CSV; choosing a `param:` report or a pair. Every
route needs a signed-in user (pages.router's rule)."""
import csv
import io
import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.responses import RedirectResponse

from common.report_dimensions import DIMENSIONS, PARAM_PREFIX, Dimension, pair_dimension
from common.report_dimensions import find as find_dimension
from common.report_slots import MAX_PAIRS, MAX_PARAMS, Slot, SlotError, add_pair, add_slot, slots
from web.dashboard.auth import EDIT, current_user
from web.dashboard.deps import Db, DbSession
from web.dashboard.pages import (
    CampaignDep,
    CountsMode,
    PeriodDep,
    _counts_context,
    _kept_params,
    _range_context,
)
from web.dashboard.period import Period
from web.dashboard.render import is_htmx, render, secured
from web.dashboard.report import (
    DEFAULT_SORT,
    TOP_ROWS,
    Report,
    ReportRow,
    build_report,
    csv_header,
    csv_row,
    dimension,
    sorts,
)

router = APIRouter(dependencies=[Depends(current_user)], include_in_schema=False)

By = Annotated[str | None, Query(max_length=100)]
Then = Annotated[str | None, Query(max_length=100)]
Sort = Annotated[str | None, Query(max_length=30)]
Direction = Annotated[str | None, Query(alias="dir", max_length=4)]
_REPORT_KEYS = ("by", "then", "sort", "dir")


@dataclass(frozen=True)
class Choice:
    """What `?by=&then=` asks for, among the campaign's reports: one dimension, or a pair (`then`) that is
    reported on (`slot`) or not yet, which is never computed from events but offered to be added."""

    first: Dimension
    then: Dimension | None
    slot: Slot | None  # the chosen `param:` report or pair shown, if any

    @property
    def dimension(self) -> Dimension:
        return self.first if self.then is None else pair_dimension(self.first, self.then)

    @property
    def missing(self) -> bool:
        """A pair the campaign does not report on."""
        return self.then is not None and self.slot is None


def _choice(by: str | None, then: str | None, chosen: list[Slot]) -> Choice:
    """A pair may be of any two dimensions (`param:` keys included, chosen alone or not); alone, a `param:` key
    is one the campaign reports on, anything unknown the first dimension."""
    by_name = {s.dimension: s for s in chosen}
    first, second = find_dimension(by or ""), find_dimension(then or "")
    if first is not None and second is not None and first.name != second.name:
        return Choice(first, second, by_name.get(pair_dimension(first, second).name))
    single = dimension(by, [s.key for s in chosen if not s.is_pair])
    return Choice(single, None, by_name.get(single.name))


def _param_choices(chosen: list[Slot], choice: Choice) -> list[tuple[str, str]]:
    """The pickers' `param:` choices: the campaign's parameter reports (with their filling), the keys its pairs
    read, and the one asked for."""
    found = {s.dimension: s.key + ("" if s.filled else f" (filling, {s.progress}%)") for s in chosen if not s.is_pair}
    asked = [choice.first, *([choice.then] if choice.then else [])]
    names = [n for s in chosen if s.is_pair for n in (s.by, s.then or "")] + [d.name for d in asked]
    for name in names:
        if name.startswith(PARAM_PREFIX):
            found.setdefault(name, name.removeprefix(PARAM_PREFIX))
    return list(found.items())


def _report(request: Request, session: DbSession, campaign_id: int, period: Period, all_counts: bool,
            choice: Choice, sort: str | None, direction: str | None) -> Report | None:
    """The report chosen, or None for a pair not reported on."""
    if choice.missing:
        return None
    dim = choice.dimension
    key = sort if sort in sorts(dim) else DEFAULT_SORT
    descending = direction != "asc" if direction in ("asc", "desc") else key not in ("value", "then")
    return build_report(session=session, campaign_id=campaign_id, dim=dim, period=period,
                        tz=request.app.state.settings.timezone, all_counts=all_counts, sort=key,
                        descending=descending, filled=choice.slot is not None and choice.slot.filled)


def _journeys_link(campaign_id: int, report: Report, row: ReportRow, view: dict[str, str]) -> str | None:
    """Where a row leads: the campaign's journeys with an event of that value (a sending domain: its filter), or
    of both values of a pair. "(other)" is many values: no link."""
    if row.is_other:
        return None
    dim = report.dimension
    if dim.parts:
        (first, then), (value, then_value) = dim.parts, row.values
        params = {"by": first.name, "value": value, "then": then.name, "then_value": then_value}
    elif dim.name == "domain" and row.value:
        params = {"domain": row.value}
    else:
        params = {"by": dim.name, "value": row.value}
    return f"/campaign/{campaign_id}?" + urlencode({**params, **view}) + "#journeys"


def _slots(db: Db, campaign_id: int) -> list[Slot]:
    with db.connection() as conn:
        return slots(conn, campaign_id)


def _context(request: Request, db: Db, session: DbSession, campaign: Any, period: Period, counts: str | None,
             by: str | None, then: str | None, sort: str | None, direction: str | None) -> dict[str, Any]:
    path = f"/campaign/{campaign.id}/reports"
    context = _counts_context(request, counts, path=path, period=period)
    chosen = _slots(db, campaign.id)
    choice = _choice(by, then, chosen)
    report = _report(request, session, campaign.id, period, context["all_counts"], choice, sort, direction)
    state = [*context["view_params"].items(), ("by", choice.first.name),
             *([("then", choice.then.name)] if choice.then else [])]
    columns = sorts(choice.dimension)

    def sort_url(key: str) -> str:
        assert report is not None
        descending = not report.descending if key == report.sort else key not in ("value", "then")
        return path + "?" + urlencode([*state, ("sort", key), ("dir", "desc" if descending else "asc")])

    order = [("sort", report.sort), ("dir", "desc" if report.descending else "asc")] if report else []
    pairs = [s for s in chosen if s.is_pair]
    return {
        **context,
        **_range_context(request, path),
        "campaign": campaign,
        "report": report,
        "choice": choice,
        "dimensions": DIMENSIONS,
        "param_choices": _param_choices(chosen, choice),
        "pairs": pairs,
        "pair_urls": {s.dimension: path + "?" + urlencode([*context["view_params"].items(), ("by", s.by),
                                                            ("then", s.then or "")]) for s in pairs},
        "slot": choice.slot,
        "param_count": len(chosen) - len(pairs),
        "slots_full": len(chosen) - len(pairs) >= MAX_PARAMS,
        "pairs_full": len(pairs) >= MAX_PAIRS,
        "slot_error": None,
        "slot_key": "",
        "pair_error": None,
        "max_slots": MAX_PARAMS,
        "max_pairs": MAX_PAIRS,
        "top_rows": TOP_ROWS,
        "sorts": columns,
        "sort_urls": {key: sort_url(key) for key in columns} if report else {},
        "links": {row.value: _journeys_link(campaign.id, report, row, context["view_params"])
                  for row in report.rows} if report else {},
        "csv_url": f"{path}.csv?" + urlencode([*state, *order]),
        "page_url": path + "?" + urlencode([*state, *order]),
        "picker_hidden": [(k, v) for k, v in _kept_params(request, *_REPORT_KEYS)],
    }


@router.get("/campaign/{campaign_id:int}/reports")
def reports_page(request: Request, db: Db, session: DbSession, campaign: CampaignDep, period: PeriodDep,
                 counts: CountsMode = None, by: By = None, then: Then = None, sort: Sort = None,
                 direction: Direction = None) -> Response:
    """The report for one dimension or a pair; HTMX (the picker, the column headings) gets just the table, and
    the address bar follows."""
    context = _context(request, db, session, campaign, period, counts, by, then, sort, direction)
    if is_htmx(request):
        return render(request, "partials/report_table.html", context, headers={"HX-Push-Url": context["page_url"]})
    return render(request, "reports.html", context)


@router.get("/campaign/{campaign_id:int}/reports.csv")
def report_csv(request: Request, db: Db, session: DbSession, campaign: CampaignDep, period: PeriodDep,
               counts: CountsMode = None, by: By = None, then: Then = None, sort: Sort = None,
               direction: Direction = None) -> Response:
    """The report as shown (top rows, then "(other)"), as CSV; a pair not reported on is not found."""
    report = _report(request, session, campaign.id, period, counts == "all", _choice(by, then, _slots(db, campaign.id)),
                     sort, direction)
    if report is None:
        raise HTTPException(status_code=404, detail="The campaign does not report on this pair yet.")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(csv_header(report.dimension, campaign.currency))
    writer.writerows(csv_row(row) for row in report.rows)
    filename = f"campaign-{campaign.id}-report-{report.dimension.name.replace('|', '-then-')}.csv"
    return secured(Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{filename}"'}))


ParamKey = Annotated[str, Form(max_length=1000)]


@router.post("/campaign/{campaign_id:int}/reports/params", dependencies=EDIT)
def add_param_report(request: Request, db: Db, session: DbSession, campaign: CampaignDep, period: PeriodDep,
                     key: ParamKey = "") -> Response:
    """Report on an extra parameter from now on, its past filled in the background; then show it. A key
    that cannot be reported on comes back with the reason (422)."""
    try:
        with db.connection() as conn:
            chosen = add_slot(conn, campaign.id, key)
    except SlotError as exc:
        context = _context(request, db, session, campaign, period, None, None, None, None, None)
        return render(request, "reports.html", {**context, "slot_error": str(exc), "slot_key": key}, status_code=422)
    url = f"/campaign/{campaign.id}/reports?" + urlencode({**period.params(), "by": PARAM_PREFIX + chosen})
    if is_htmx(request):
        return secured(Response(headers={"HX-Location": json.dumps({"path": url, "target": "body"})}))
    return secured(RedirectResponse(url, status_code=303))


PairHalf = Annotated[str, Form(max_length=100)]


@router.post("/campaign/{campaign_id:int}/reports/pairs", dependencies=EDIT)
def add_pair_report(request: Request, db: Db, session: DbSession, campaign: CampaignDep, period: PeriodDep,
                    by: PairHalf = "", then: PairHalf = "") -> Response:
    """Break down by `by` then `then` from now on, its past filled in the background; then show it. A pair that
    cannot be chosen comes back with the reason (422)."""
    try:
        with db.connection() as conn:
            add_pair(conn, campaign.id, by, then)
    except SlotError as exc:
        context = _context(request, db, session, campaign, period, None, by, then, None, None)
        return render(request, "reports.html", {**context, "pair_error": str(exc)}, status_code=422)
    url = f"/campaign/{campaign.id}/reports?" + urlencode({**period.params(), "by": by, "then": then})
    if is_htmx(request):
        return secured(Response(headers={"HX-Location": json.dumps({"path": url, "target": "body"})}))
    return secured(RedirectResponse(url, status_code=303))
