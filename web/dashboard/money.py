"""What a campaign earned and cost, in the traffic and date range shown: revenue, cost, profit, ROI and EPC.

The rule for cost, stated on the pages too: a campaign's fixed cost (a list rental, a send) is spread evenly
over its email clicks, and its cost per click is paid for each email click; both count the clicks of the
traffic shown (people only, or all traffic). So "all time" carries the whole fixed cost, a date range its share
(the range's clicks over all the campaign's clicks), and a campaign without clicks yet carries its fixed cost
in "all time" only.
"""
from dataclasses import dataclass
from decimal import Decimal

from common.models import Campaign

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


class Returns:
    """Profit, ROI and EPC of what a class holds as `revenue`, `cost` and email `clicks`: one campaign's money
    (Money) or a currency's total on the home page (campaign_table.CurrencyTotal)."""

    __slots__ = ()
    revenue: Decimal
    cost: Decimal
    clicks: int

    @property
    def profit(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def roi(self) -> Decimal | None:
        """Profit per cost, in percent; None without a cost."""
        return self.profit * _HUNDRED / self.cost if self.cost > 0 else None

    @property
    def epc(self) -> Decimal | None:
        """Earnings per email click; None without clicks."""
        return self.revenue / self.clicks if self.clicks > 0 else None


@dataclass(frozen=True, slots=True)
class Money(Returns):
    currency: str
    revenue: Decimal
    cost: Decimal
    clicks: int  # the email clicks behind EPC and the cost per click


def cost(campaign: Campaign, *, clicks: int, all_clicks: int, whole: bool) -> Decimal:
    """What `clicks` email clicks cost, of the campaign's `all_clicks` (same traffic); `whole`: all of them are
    meant (all time), so the whole fixed cost counts even before the first click."""
    share = Decimal(1) if whole else (Decimal(clicks) / all_clicks if all_clicks > 0 else _ZERO)
    return (campaign.cost_total or _ZERO) * share + (campaign.cost_per_click or _ZERO) * clicks


def money(campaign: Campaign, *, revenue: Decimal, clicks: int, all_clicks: int, whole: bool) -> Money:
    return Money(campaign.currency, revenue, cost(campaign, clicks=clicks, all_clicks=all_clicks, whole=whole),
                 clicks)
