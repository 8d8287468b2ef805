"""Every text an end user reads, in English, German and French.

Pages, ticket comments, e-mails and chat messages all take their words from here, so a language
is added in one place. English is the fallback for a missing language; a missing key in any
language is a bug the tests catch. Placeholders use `str.format` names.
"""
from __future__ import annotations

from typing import Iterable

FALLBACK = "en"

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "page_title": "How did we do?",
        "intro": "About your ticket {number}. It takes about a minute; every question but the first is optional.",
        "rating_legend": "How satisfied are you with how your ticket was handled?",
        "scale_low": "0 = not at all satisfied",
        "scale_high": "10 = completely satisfied",
        "reasons_positive": "What went well?",
        "reasons_neutral": "What could have been better?",
        "reasons_negative": "What went wrong?",
        "band_hint_positive": "For a rating of 9 or 10",
        "band_hint_neutral": "For a rating of 7 or 8",
        "band_hint_negative": "For a rating from 0 to 6",
        "reasons_help": "Choose any that apply.",
        "lost_time_legend": "How much working time did this issue cost you? (optional)",
        "hours": "Hours",
        "minutes": "Minutes",
        "comment_label": "Anything else you want to tell us? (optional)",
        "comment_hint": "Please do not write passwords or other personal details here.",
        "submit": "Send my answer",
        "privacy_note": "Your answer is stored with this ticket only and read by the service desk team.",
        "error_summary": "Please check your answer",
        "error_rating_required": "Choose a rating from 0 to 10.",
        "error_lost_time": "Enter whole hours from 0 to 999 and minutes from 0 to 59.",
        "error_comment_too_long": "Shorten your comment to {limit} characters.",
        "error_form_expired": "We could not verify this form, perhaps because it was open for a long time. "
                              "Please send your answer again.",
        "thanks_title": "Thank you!",
        "thanks_body": "Your answer has been recorded. It helps the service desk get better.",
        "answered_title": "You have already answered",
        "answered_body": "This survey has been answered. Thank you for your feedback.",
        "invalid_title": "This link is no longer valid",
        "invalid_body": "The survey may have expired or been withdrawn, or the link is incomplete. "
                        "There is nothing else you need to do.",
        "limited_title": "Too many requests",
        "limited_body": "Please wait a minute, then try again.",
        "optout_title": "Stop satisfaction surveys",
        "optout_body": "You will no longer be asked for feedback about your tickets.",
        "optout_button": "Stop sending me surveys",
        "optout_done_title": "Surveys stopped",
        "optout_done_body": "You will not receive further satisfaction surveys from the service desk.",
        "optout_link": "Stop receiving these surveys",
        "comment_text": "How did we do with {number}? Please tell us in about a minute:\n{link}\n"
                        "The link works once and is valid until {expires}.",
        "reminder_comment_text": "Reminder: we would still like to hear how {number} went for you:\n{link}\n"
                                 "The link is valid until {expires}.",
        "mail_subject": "How did we do with {number}?",
        "mail_reminder_subject": "Reminder: how did we do with {number}?",
        "mail_greeting": "Hello,",
        "mail_question": "Your ticket {number} has been completed. How satisfied are you with how it was handled? "
                         "Choose a number:",
        "mail_open_survey": "Open the survey",
        "mail_validity": "This link is personal, works once and is valid until {expires}.",
        "mail_optout": "Do not want these e-mails?",
        "chat_text": "How did we do with {number}? Please rate it: {link}",
        "chat_button": "Answer the survey",
        "reason.resolved_quickly": "Solved quickly",
        "reason.first_time_fix": "Fixed the first time",
        "reason.friendly_agent": "Friendly and helpful people",
        "reason.kept_informed": "I was kept informed",
        "reason.easy_to_reach": "Easy to reach",
        "reason.clear_explanation": "Clear explanation",
        "reason.took_longer": "Took longer than expected",
        "reason.repeat_myself": "I had to repeat myself",
        "reason.partly_solved": "Only partly solved",
        "reason.updates_could_improve": "Updates could have been better",
        "reason.hard_to_reach": "Hard to reach",
        "reason.workaround_only": "Only a workaround",
        "reason.too_slow": "Far too slow",
        "reason.not_solved": "My problem is not solved",
        "reason.passed_around": "Passed between teams",
        "reason.no_updates": "Nobody told me what was happening",
        "reason.had_to_chase": "I had to chase for progress",
        "reason.unfriendly": "Unfriendly or unhelpful",
        "reason.came_back": "The problem came back",
        "reason.lost_work": "I could not work for a long time",
    },
    "de": {
        "page_title": "Wie zufrieden waren Sie?",
        "intro": "Zu Ihrem Ticket {number}. Das dauert etwa eine Minute; außer der ersten Frage ist alles freiwillig.",
        "rating_legend": "Wie zufrieden sind Sie mit der Bearbeitung Ihres Tickets?",
        "scale_low": "0 = überhaupt nicht zufrieden",
        "scale_high": "10 = voll und ganz zufrieden",
        "reasons_positive": "Was lief gut?",
        "reasons_neutral": "Was hätte besser sein können?",
        "reasons_negative": "Was lief schief?",
        "band_hint_positive": "Bei einer Bewertung von 9 oder 10",
        "band_hint_neutral": "Bei einer Bewertung von 7 oder 8",
        "band_hint_negative": "Bei einer Bewertung von 0 bis 6",
        "reasons_help": "Wählen Sie alles Zutreffende.",
        "lost_time_legend": "Wie viel Arbeitszeit hat Sie das Problem gekostet? (freiwillig)",
        "hours": "Stunden",
        "minutes": "Minuten",
        "comment_label": "Möchten Sie uns noch etwas sagen? (freiwillig)",
        "comment_hint": "Bitte schreiben Sie hier keine Passwörter oder anderen persönlichen Daten.",
        "submit": "Antwort senden",
        "privacy_note": "Ihre Antwort wird nur zu diesem Ticket gespeichert und vom Service-Desk-Team gelesen.",
        "error_summary": "Bitte prüfen Sie Ihre Antwort",
        "error_rating_required": "Wählen Sie eine Bewertung von 0 bis 10.",
        "error_lost_time": "Geben Sie ganze Stunden von 0 bis 999 und Minuten von 0 bis 59 ein.",
        "error_comment_too_long": "Kürzen Sie Ihren Kommentar auf {limit} Zeichen.",
        "error_form_expired": "Wir konnten dieses Formular nicht bestätigen, vielleicht war es lange geöffnet. "
                              "Bitte senden Sie Ihre Antwort erneut.",
        "thanks_title": "Vielen Dank!",
        "thanks_body": "Ihre Antwort wurde gespeichert. Sie hilft dem Service Desk, besser zu werden.",
        "answered_title": "Sie haben bereits geantwortet",
        "answered_body": "Diese Umfrage wurde schon beantwortet. Danke für Ihre Rückmeldung.",
        "invalid_title": "Dieser Link ist nicht mehr gültig",
        "invalid_body": "Die Umfrage ist vielleicht abgelaufen oder wurde zurückgezogen, oder der Link ist "
                        "unvollständig. Sie müssen nichts weiter tun.",
        "limited_title": "Zu viele Anfragen",
        "limited_body": "Bitte warten Sie eine Minute und versuchen Sie es dann erneut.",
        "optout_title": "Zufriedenheitsumfragen abbestellen",
        "optout_body": "Sie werden nicht mehr um Rückmeldung zu Ihren Tickets gebeten.",
        "optout_button": "Keine Umfragen mehr senden",
        "optout_done_title": "Umfragen abbestellt",
        "optout_done_body": "Sie erhalten keine weiteren Zufriedenheitsumfragen vom Service Desk.",
        "optout_link": "Diese Umfragen abbestellen",
        "comment_text": "Wie zufrieden waren Sie mit {number}? Sagen Sie es uns in etwa einer Minute:\n{link}\n"
                        "Der Link funktioniert einmal und ist bis {expires} gültig.",
        "reminder_comment_text": "Erinnerung: Wir würden gern noch erfahren, wie {number} für Sie gelaufen ist:\n"
                                 "{link}\nDer Link ist bis {expires} gültig.",
        "mail_subject": "Wie zufrieden waren Sie mit {number}?",
        "mail_reminder_subject": "Erinnerung: Wie zufrieden waren Sie mit {number}?",
        "mail_greeting": "Hallo,",
        "mail_question": "Ihr Ticket {number} wurde abgeschlossen. Wie zufrieden sind Sie mit der Bearbeitung? "
                         "Wählen Sie eine Zahl:",
        "mail_open_survey": "Umfrage öffnen",
        "mail_validity": "Dieser Link ist persönlich, funktioniert einmal und ist bis {expires} gültig.",
        "mail_optout": "Sie möchten diese E-Mails nicht?",
        "chat_text": "Wie zufrieden waren Sie mit {number}? Bitte bewerten Sie es: {link}",
        "chat_button": "Zur Umfrage",
        "reason.resolved_quickly": "Schnell gelöst",
        "reason.first_time_fix": "Beim ersten Mal behoben",
        "reason.friendly_agent": "Freundliche und hilfsbereite Menschen",
        "reason.kept_informed": "Ich wurde auf dem Laufenden gehalten",
        "reason.easy_to_reach": "Gut erreichbar",
        "reason.clear_explanation": "Verständliche Erklärung",
        "reason.took_longer": "Hat länger gedauert als erwartet",
        "reason.repeat_myself": "Ich musste mich wiederholen",
        "reason.partly_solved": "Nur teilweise gelöst",
        "reason.updates_could_improve": "Die Rückmeldungen hätten besser sein können",
        "reason.hard_to_reach": "Schwer erreichbar",
        "reason.workaround_only": "Nur eine Übergangslösung",
        "reason.too_slow": "Viel zu langsam",
        "reason.not_solved": "Mein Problem ist nicht gelöst",
        "reason.passed_around": "Zwischen Teams weitergereicht",
        "reason.no_updates": "Niemand hat mir gesagt, was passiert",
        "reason.had_to_chase": "Ich musste ständig nachfragen",
        "reason.unfriendly": "Unfreundlich oder nicht hilfreich",
        "reason.came_back": "Das Problem ist wieder aufgetreten",
        "reason.lost_work": "Ich konnte lange nicht arbeiten",
    },
    "fr": {
        "page_title": "Votre avis nous intéresse",
        "intro": "À propos de votre ticket {number}. Cela prend environ une minute ; seule la première "
                 "question est obligatoire.",
        "rating_legend": "Êtes-vous satisfait du traitement de votre ticket ?",
        "scale_low": "0 = pas du tout satisfait",
        "scale_high": "10 = entièrement satisfait",
        "reasons_positive": "Qu’est-ce qui s’est bien passé ?",
        "reasons_neutral": "Qu’est-ce qui aurait pu être mieux ?",
        "reasons_negative": "Qu’est-ce qui n’a pas fonctionné ?",
        "band_hint_positive": "Pour une note de 9 ou 10",
        "band_hint_neutral": "Pour une note de 7 ou 8",
        "band_hint_negative": "Pour une note de 0 à 6",
        "reasons_help": "Cochez tout ce qui s’applique.",
        "lost_time_legend": "Combien de temps de travail ce problème vous a-t-il fait perdre ? (facultatif)",
        "hours": "Heures",
        "minutes": "Minutes",
        "comment_label": "Souhaitez-vous ajouter quelque chose ? (facultatif)",
        "comment_hint": "N’écrivez ici ni mot de passe ni autre donnée personnelle.",
        "submit": "Envoyer ma réponse",
        "privacy_note": "Votre réponse est enregistrée uniquement avec ce ticket et lue par l’équipe du support.",
        "error_summary": "Veuillez vérifier votre réponse",
        "error_rating_required": "Choisissez une note de 0 à 10.",
        "error_lost_time": "Saisissez des heures entières de 0 à 999 et des minutes de 0 à 59.",
        "error_comment_too_long": "Raccourcissez votre commentaire à {limit} caractères.",
        "error_form_expired": "Nous n’avons pas pu vérifier ce formulaire, peut-être est-il resté ouvert "
                              "longtemps. Veuillez renvoyer votre réponse.",
        "thanks_title": "Merci !",
        "thanks_body": "Votre réponse a été enregistrée. Elle aide le support à s’améliorer.",
        "answered_title": "Vous avez déjà répondu",
        "answered_body": "Ce questionnaire a déjà reçu une réponse. Merci pour votre retour.",
        "invalid_title": "Ce lien n’est plus valide",
        "invalid_body": "Le questionnaire a peut-être expiré ou été retiré, ou le lien est incomplet. "
                        "Vous n’avez rien d’autre à faire.",
        "limited_title": "Trop de demandes",
        "limited_body": "Veuillez patienter une minute, puis réessayer.",
        "optout_title": "Ne plus recevoir de questionnaires",
        "optout_body": "On ne vous demandera plus votre avis sur vos tickets.",
        "optout_button": "Ne plus m’envoyer de questionnaires",
        "optout_done_title": "Questionnaires arrêtés",
        "optout_done_body": "Vous ne recevrez plus de questionnaires de satisfaction du support.",
        "optout_link": "Ne plus recevoir ces questionnaires",
        "comment_text": "Comment s’est passé le traitement de {number} ? Dites-le-nous en une minute environ :\n"
                        "{link}\nLe lien fonctionne une seule fois et reste valable jusqu’au {expires}.",
        "reminder_comment_text": "Rappel : nous aimerions toujours savoir comment s’est passé {number} :\n{link}\n"
                                 "Le lien reste valable jusqu’au {expires}.",
        "mail_subject": "Comment s’est passé {number} ?",
        "mail_reminder_subject": "Rappel : comment s’est passé {number} ?",
        "mail_greeting": "Bonjour,",
        "mail_question": "Votre ticket {number} est terminé. Êtes-vous satisfait de son traitement ? "
                         "Choisissez une note :",
        "mail_open_survey": "Ouvrir le questionnaire",
        "mail_validity": "Ce lien est personnel, fonctionne une seule fois et reste valable jusqu’au {expires}.",
        "mail_optout": "Vous ne souhaitez pas recevoir ces e-mails ?",
        "chat_text": "Comment s’est passé {number} ? Donnez votre note : {link}",
        "chat_button": "Répondre au questionnaire",
        "reason.resolved_quickly": "Résolu rapidement",
        "reason.first_time_fix": "Corrigé du premier coup",
        "reason.friendly_agent": "Interlocuteurs aimables et serviables",
        "reason.kept_informed": "J’ai été tenu informé",
        "reason.easy_to_reach": "Facile à joindre",
        "reason.clear_explanation": "Explication claire",
        "reason.took_longer": "Plus long que prévu",
        "reason.repeat_myself": "J’ai dû me répéter",
        "reason.partly_solved": "Résolu en partie seulement",
        "reason.updates_could_improve": "Le suivi aurait pu être meilleur",
        "reason.hard_to_reach": "Difficile à joindre",
        "reason.workaround_only": "Seulement un contournement",
        "reason.too_slow": "Beaucoup trop lent",
        "reason.not_solved": "Mon problème n’est pas résolu",
        "reason.passed_around": "Renvoyé d’une équipe à l’autre",
        "reason.no_updates": "Personne ne m’a dit ce qui se passait",
        "reason.had_to_chase": "J’ai dû relancer sans cesse",
        "reason.unfriendly": "Peu aimable ou peu utile",
        "reason.came_back": "Le problème est revenu",
        "reason.lost_work": "Je n’ai pas pu travailler pendant longtemps",
    },
}


def pick_language(wanted: str | None, offered: Iterable[str], accept_language=None) -> str:
    """The language to speak: `wanted` if offered, else the browser's best offered match, else the first.

    `accept_language` is a werkzeug `LanguageAccept` (request.accept_languages), best first, or None.
    """
    offered = [code for code in offered if code in TEXTS] or [FALLBACK]
    if wanted:
        base = wanted.replace("_", "-").split("-")[0].lower()
        if base in offered:
            return base
    if accept_language is not None:
        # By the browser's preference order, matching on the primary subtag ("fr-CH" -> "fr").
        for value, quality in accept_language:
            base = value.replace("_", "-").split("-")[0].lower()
            if quality > 0 and base in offered:
                return base
    return offered[0]


def translate(language: str, key: str, **values) -> str:
    """The text `key` in `language` (English when the language is unknown), filled with `values`.

    Raises KeyError for a key no language has: a typo in code, not a translation gap.
    """
    catalogue = TEXTS.get(language, TEXTS[FALLBACK])
    text = catalogue.get(key)
    if text is None:
        text = TEXTS[FALLBACK][key]
    return text.format(**values) if values else text


def translator(language: str):
    """A one-argument-plus-values `t(key, **values)` bound to `language` (the page templates use it)."""
    return lambda key, **values: translate(language, key, **values)
