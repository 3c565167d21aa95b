"""`{% my_exemptions %}`: the producer's latest exemption requests, for their home page."""

from django import template

from ..selectors_exemptions import exemptions_visible_to

register = template.Library()
SHOWN = 3


@register.inclusion_tag("scoring/exemptions/fragment_mine_home.html", takes_context=True)
def my_exemptions(context):
    """One query: the caller's latest requests (producers see only their own)."""
    user = context["request"].user
    return {"exemptions": list(exemptions_visible_to(user).order_by("-created_at", "-id")[:SHOWN])}
