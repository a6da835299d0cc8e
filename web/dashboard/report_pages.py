"""The campaign's Reports tab: `/campaign/{id}/reports?by=<dimension>`, its table (the fragment HTMX swaps when
the dimension, sort or range changes) and its CSV. Every route needs a signed-in user (pages.router's rule)."""
import csv
import io
import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from common.report_dimensions import DIMENSIONS, OTHER, PARAM_PREFIX
from common.report_slots import MAX_PARAMS, Slot, SlotError, add_slot, slots
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
    SORTS,
    TOP_ROWS,
    Report,
    build_report,
    csv_header,
    csv_row,
    dimension,
)

router = APIRouter(dependencies=[Depends(current_user)], include_in_schema=False)

By = Annotated[str | None, Query(max_length=100)]
Sort = Annotated[str | None, Query(max_length=30)]
Direction = Annotated[str | None, Query(alias="dir", max_length=4)]
_REPORT_KEYS = ("by", "sort", "dir")


def _report(request: Request, session: DbSession, campaign_id: int, period: Period, all_counts: bool,
            by: str | None, sort: str | None, direction: str | None, slot_keys: list[str]) -> Report:
    key = sort if sort in SORTS else DEFAULT_SORT
    descending = direction != "asc" if direction in ("asc", "desc") else key != "value"
    return build_report(session=session, campaign_id=campaign_id, dim=dimension(by, slot_keys), period=period,
                        tz=request.app.state.settings.timezone, all_counts=all_counts, sort=key,
                        descending=descending)


def _journeys_link(campaign_id: int, report: Report, value: str, view: dict[str, str]) -> str | None:
    """Where a row leads: the campaign's journeys with an event of that value (a sending domain: its filter).
    "(other)" is many values: no link."""
    if value == OTHER:
        return None
    if report.dimension.name == "domain" and value:
        params = {"domain": value}
    else:
        params = {"by": report.dimension.name, "value": value}
    return f"/campaign/{campaign_id}?" + urlencode({**params, **view}) + "#journeys"


def _slots(db: Db, campaign_id: int) -> list[Slot]:
    with db.connection() as conn:
        return slots(conn, campaign_id)


def _context(request: Request, db: Db, session: DbSession, campaign: Any, period: Period, counts: str | None,
             by: str | None, sort: str | None, direction: str | None) -> dict[str, Any]:
    path = f"/campaign/{campaign.id}/reports"
    context = _counts_context(request, counts, path=path, period=period)
    chosen = _slots(db, campaign.id)
    report = _report(request, session, campaign.id, period, context["all_counts"], by, sort, direction,
                     [s.key for s in chosen])
    state = [*context["view_params"].items(), ("by", report.dimension.name)]

    def sort_url(key: str) -> str:
        descending = not report.descending if key == report.sort else key != "value"
        return path + "?" + urlencode([*state, ("sort", key), ("dir", "desc" if descending else "asc")])

    order = [("sort", report.sort), ("dir", "desc" if report.descending else "asc")]
    return {
        **context,
        **_range_context(request, path),
        "campaign": campaign,
        "report": report,
        "dimensions": DIMENSIONS,
        "slots": chosen,
        "slot": next((s for s in chosen if s.dimension == report.dimension.name), None),
        "slots_full": sum(not s.is_pair for s in chosen) >= MAX_PARAMS,
        "slot_error": None,
        "slot_key": "",
        "max_slots": MAX_PARAMS,
        "top_rows": TOP_ROWS,
        "sorts": SORTS,
        "sort_urls": {key: sort_url(key) for key in SORTS},
        "links": {row.value: _journeys_link(campaign.id, report, row.value, context["view_params"])
                  for row in report.rows},
        "csv_url": f"{path}.csv?" + urlencode([*state, *order]),
        "page_url": path + "?" + urlencode([*state, *order]),
        "picker_hidden": [(k, v) for k, v in _kept_params(request, *_REPORT_KEYS)],
    }


@router.get("/campaign/{campaign_id:int}/reports")
def reports_page(request: Request, db: Db, session: DbSession, campaign: CampaignDep, period: PeriodDep,
                 counts: CountsMode = None, by: By = None, sort: Sort = None, direction: Direction = None) -> Response:
    """The report for one dimension; HTMX (the picker, the column headings) gets just the table, and the
    address bar follows."""
    context = _context(request, db, session, campaign, period, counts, by, sort, direction)
    if is_htmx(request):
        return render(request, "partials/report_table.html", context, headers={"HX-Push-Url": context["page_url"]})
    return render(request, "reports.html", context)


@router.get("/campaign/{campaign_id:int}/reports.csv")
def report_csv(request: Request, db: Db, session: DbSession, campaign: CampaignDep, period: PeriodDep,
               counts: CountsMode = None, by: By = None, sort: Sort = None, direction: Direction = None) -> Response:
    """The report as shown (top rows, then "(other)"), as CSV."""
    report = _report(request, session, campaign.id, period, counts == "all", by, sort, direction,
                     [s.key for s in _slots(db, campaign.id)])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(csv_header(report.dimension, campaign.currency))
    writer.writerows(csv_row(row) for row in report.rows)
    filename = f"campaign-{campaign.id}-report-{report.dimension.name}.csv"
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
        context = _context(request, db, session, campaign, period, None, None, None, None)
        return render(request, "reports.html", {**context, "slot_error": str(exc), "slot_key": key}, status_code=422)
    url = f"/campaign/{campaign.id}/reports?" + urlencode({**period.params(), "by": PARAM_PREFIX + chosen})
    if is_htmx(request):
        return secured(Response(headers={"HX-Location": json.dumps({"path": url, "target": "body"})}))
    return secured(RedirectResponse(url, status_code=303))
