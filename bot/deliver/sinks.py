"""The concrete delivery sinks for a configuration: chosen at the edge (CLI, stage registry)."""

from __future__ import annotations

from bot.config import Secrets, Settings
from bot.deliver.interface import Sink
from bot.deliver.slack import make_slack_sink


def build_sinks(settings: Settings, secrets: Secrets) -> tuple[dict[str, Sink], list[str]]:
    """The configured sinks, and a line for each channel that cannot be delivered to."""
    # Imported here, not at the top: PyGithub is slow to import, and planning and dry runs never need it.
    from bot.deliver.github_issues import make_github_issue_sink

    sinks: dict[str, Sink] = {}
    notes = []
    slack = make_slack_sink(settings, secrets)
    if slack is not None:
        sinks["slack"] = slack
    elif settings.slack.channel:
        notes.append("slack: neither SLACK_BOT_TOKEN nor SLACK_WEBHOOK_URL is set; the digest waits in the outbox")
    from bot.notify.sinks import build_notify_sinks

    routed, routed_notes = build_notify_sinks(settings, secrets, slack=sinks.get("slack"))
    sinks.update(routed)  # a [[notify]] Slack entry with its own token routes by channel; the rest go to [slack]
    notes += routed_notes
    from bot.deliver.forgejo_issues import make_forgejo_issue_sink
    from bot.deliver.gitlab_issues import make_gitlab_issue_sink

    forge = next((f for f in settings.forges if f.name == settings.issues.forge and f.kind != "github"), None)
    if forge is not None:  # [issues].forge: the issues go to a GitLab project or a Forgejo repository
        make = make_forgejo_issue_sink if forge.kind == "forgejo" else make_gitlab_issue_sink
        on_forge = make(settings, secrets)  # the outbox channel stays "github", the name of the issue tracker
        if on_forge is not None:
            sinks["github"] = on_forge
        elif settings.issues.repository:
            variable = forge.issue_token_env or forge.token_env or "its token_env"
            notes.append(f"issues: {variable} is not set for forge {forge.name}; issue changes wait in the outbox")
        return sinks, notes
    issues = make_github_issue_sink(settings, secrets)
    if issues is not None:
        sinks["github"] = issues
    elif settings.issues.repository:
        notes.append("issues: GITHUB_TOKEN is not set; issue changes wait in the outbox")
    return sinks, notes
