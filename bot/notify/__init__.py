"""Notifications beyond Slack: the digest in each chat's or mail's native format, exactly once per target.

``[[notify]]`` entries (kind, target, the variable holding the secret) name where the digest goes.
:mod:`bot.notify.content` turns the digest (:class:`bot.deliver.interface.DigestData`, the model the
Slack digest uses) into one neutral document; one module per kind renders it natively and delivers
it (``mattermost``, ``matrix``, ``teams``, ``email``; Slack keeps :mod:`bot.deliver.slack`).
:mod:`bot.notify.plan` adds the outbox rows and :mod:`bot.notify.sinks` builds the adapters.
"""
