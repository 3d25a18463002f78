"""Sending email: a small interface with one SMTP implementation, set by the ACTIONPLAN_SMTP_* settings."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Any, Protocol

from .errors import ActionplanError


class MailUnavailable(ActionplanError):
    """Email cannot be sent: no mail server is set, or it refused or could not be reached."""


class Mailer(Protocol):
    """Something that sends one email."""

    sender: str

    def send(self, message: EmailMessage) -> None: ...


class SmtpMailer:
    """Email through the council's mail server (one connection per message: reminders are few)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        user: str = "",
        password: str = "",
        starttls: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password, self.starttls, self.timeout = user, password, starttls, timeout

    @classmethod
    def from_settings(cls, settings: Any) -> SmtpMailer:
        """The mailer the settings describe; MailUnavailable saying which setting is missing."""
        if not settings.smtp_host:
            raise MailUnavailable(
                "No mail server is set: set ACTIONPLAN_SMTP_HOST (and ACTIONPLAN_SMTP_FROM) to "
                "send reminders, or use --dry-run to see who would get what."
            )
        if not settings.smtp_from:
            raise MailUnavailable(
                "Reminders need an address to come from: set ACTIONPLAN_SMTP_FROM, e.g. "
                "performance@council.gov.uk."
            )
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )

    def send(self, message: EmailMessage) -> None:
        """Send one message; MailUnavailable in words when the server cannot be reached or refuses it."""
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(message)
        except smtplib.SMTPAuthenticationError:
            raise MailUnavailable(
                f"The mail server {self.host} refused the user name and password "
                "(ACTIONPLAN_SMTP_USER, ACTIONPLAN_SMTP_PASSWORD)."
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailUnavailable(
                f"The mail server {self.host} refused the address(es) {', '.join(exc.recipients)}."
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise MailUnavailable(
                f"Could not send email through {self.host}:{self.port} ({exc}). Check "
                "ACTIONPLAN_SMTP_HOST and ACTIONPLAN_SMTP_PORT."
            ) from None
