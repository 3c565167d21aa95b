from .access import membership_of


def membership(request):
    """The user's membership and unread notification count, for the layout (navigation, bell).

    Lazy: pages that never render the layout pay nothing."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def unread():
        return user.notifications.filter(read_at__isnull=True).count()

    return {"membership": membership_of(user), "unread_notifications": unread}
