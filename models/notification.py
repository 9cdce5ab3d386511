def notification(title, message, kind, **params):
    """The client action that shows a notification: what a button returns to say how it went.

    ``kind`` is success, warning, danger or info; anything but success stays until closed.
    """
    return {
        "type": "ir.actions.client",
        "tag": "display_notification",
        "params": {
            "title": title,
            "message": message,
            "type": kind,
            "sticky": kind != "success",
            **params,
        },
    }
