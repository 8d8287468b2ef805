"""The e-mail channel: a plain-text and HTML message with one-click rating links, sent over SMTP.

Each of the eleven rating links only opens the survey page with that rating preselected; nothing
is recorded until the person presses the button there (mail scanners open every link). The
message carries an opt-out link, `List-Unsubscribe`, and `Auto-Submitted` so autoresponders
stay quiet. Its Message-ID is derived from the survey and reminder number, so a message sent
again after a crash is recognisable as the same one.
"""
from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from html import escape

from surveys.channels import Delivery, DeliveryFailed
from surveys.i18n import translate

SMTP_TIMEOUT_S = 15.0


def build_survey_email(delivery: Delivery, sender: str) -> EmailMessage:
    """The complete message for `delivery` (which must have a recipient); raises ValueError otherwise."""
    if not delivery.recipient:
        raise ValueError(f"survey {delivery.survey_id} has no e-mail recipient")
    t = _texts(delivery)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr(("", delivery.recipient))
    message["Subject"] = t("mail_reminder_subject" if delivery.reminder else "mail_subject",
                           number=delivery.ticket_number)
    message["Message-ID"] = f"<xla-survey-{delivery.survey_id}-{delivery.reminder}@{_domain_of(sender)}>"
    message["Auto-Submitted"] = "auto-generated"
    message["List-Unsubscribe"] = f"<{delivery.opt_out_link}>"
    message.set_content(_plain_body(delivery, t))
    message.add_alternative(_html_body(delivery, t), subtype="html")
    # After the bodies: setting content clears Content-* headers set earlier.
    message["Content-Language"] = delivery.language
    return message


def send_email(mail_settings, message: EmailMessage) -> None:
    """Hand `message` to the configured SMTP server.

    Raises DeliveryFailed: retryable for temporary trouble (connection refused or dropped, timeouts,
    4xx replies), not retryable for refusals an admin must fix (5xx replies, failed login, a
    missing password variable or server name).
    """
    if not mail_settings.host:
        raise DeliveryFailed("mail.host is not configured; set the SMTP server in [mail]", retryable=False)
    password = None
    if mail_settings.password_env:
        password = os.environ.get(mail_settings.password_env)
        if not password:
            raise DeliveryFailed(f"environment variable {mail_settings.password_env} (mail.password_env) is not set",
                                 retryable=False)
    try:
        with smtplib.SMTP(mail_settings.host, mail_settings.port, timeout=SMTP_TIMEOUT_S) as smtp:
            smtp.ehlo()
            if mail_settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if mail_settings.user:
                smtp.login(mail_settings.user, password or "")
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = {code for code, _ in exc.recipients.values()}
        # `from None`: the refused exception names the address, which must not reach the logs.
        raise DeliveryFailed(f"SMTP server refused the recipient (codes {sorted(codes)})",
                             retryable=all(400 <= code < 500 for code in codes)) from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryFailed(f"SMTP server answered {exc.smtp_code}", status=exc.smtp_code,
                             retryable=400 <= exc.smtp_code < 500) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryFailed("SMTP server does not offer STARTTLS; set mail.starttls = false or fix the server",
                             retryable=False) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"SMTP delivery failed: {type(exc).__name__}", retryable=True) from exc


def _texts(delivery: Delivery):
    return lambda key, **values: translate(delivery.language, key, **values)


def _domain_of(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rsplit("@", 1)[1] if "@" in address else "xla-bridge.invalid"


def _plain_body(delivery: Delivery, t) -> str:
    lines = [t("mail_greeting"), "",
             t("mail_question", number=delivery.ticket_number),
             t("scale_low") + " ... " + t("scale_high"), ""]
    lines += [f"  {rating:>2}: {link}" for rating, link in enumerate(delivery.rating_links)]
    lines += ["", f"{t('mail_open_survey')}: {delivery.link}", "",
              t("mail_validity", expires=delivery.expires_text), "",
              f"{t('mail_optout')} {t('optout_link')}: {delivery.opt_out_link}", ""]
    return "\n".join(lines)


def _html_body(delivery: Delivery, t) -> str:
    # E-mail clients drop style sheets and scripts, so styles are inline. The rating links are
    # inline blocks, which wrap onto a second line on a narrow phone instead of overflowing.
    # Colours keep a contrast of at least 4.5:1 (white on #0b57a4, #1f2328 on white).
    buttons = "".join(
        f'<a href="{escape(link)}" title="{rating} / 10" style="display:inline-block;min-width:44px;'
        f'margin:0 4px 8px 0;padding:12px 0;text-align:center;background:#0b57a4;color:#ffffff;'
        f'font:bold 18px sans-serif;text-decoration:none;border-radius:4px">{rating}</a>'
        for rating, link in enumerate(delivery.rating_links))
    date = '<span style="white-space:nowrap">' + escape(delivery.expires_text) + "</span>"
    validity = escape(t("mail_validity", expires="\x00")).replace("\x00", date)
    return f"""<!doctype html>
<html lang="{escape(delivery.language)}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(t("mail_subject", number=delivery.ticket_number))}</title></head>
<body style="margin:0;padding:16px;background:#ffffff;color:#1f2328;font:16px/1.5 sans-serif">
<p>{escape(t("mail_greeting"))}</p>
<p>{escape(t("mail_question", number=delivery.ticket_number))}</p>
<p style="margin:0 0 8px">{buttons}</p>
<p style="font-size:14px">{escape(t("scale_low"))} &middot; {escape(t("scale_high"))}</p>
<p><a href="{escape(delivery.link)}" style="color:#0b57a4">{escape(t("mail_open_survey"))}</a></p>
<p style="font-size:14px">{validity}</p>
<p style="font-size:14px">{escape(t("mail_optout"))}
<a href="{escape(delivery.opt_out_link)}" style="color:#0b57a4">{escape(t("optout_link"))}</a></p>
</body></html>
"""
