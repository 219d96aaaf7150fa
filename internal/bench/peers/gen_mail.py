#!/usr/bin/env python3
# Copied unchanged (apart from this header) from the team's peer benchmarks, ../shared/peers/gen_mail.py
# (beside imap_mbsync.sh, the mbsync baseline), so `tandem bench mail` and its test run on a clean
# clone: the benchmark embeds this file and runs it with python3. Keep it in step with the original:
# the same seed must give the same messages as the peers' run.
"""Deterministic generator of realistic e-mail for the IMAP peer benchmark (Python 3 stdlib only).

Message i depends only on (--seed, i), so a run can be reproduced exactly and "100 new messages"
are simply indices N..N+99.  Mix (weights are per message):
  * sizes: log-uniform 2-20 KB for plain messages; ~10 % carry 1-2 attachments totalling
    100 KB-1 MB (log-uniform, base64 on the wire);
  * structure: text/plain, text/html, multipart/alternative, multipart/mixed;
  * charsets: us-ascii, utf-8, windows-1251, KOI8-R, iso-8859-1, iso-8859-15, ISO-2022-JP, in
    headers (RFC 2047 B/Q encoded words, RFC 2231 file names) and bodies (7bit, 8bit,
    quoted-printable, base64);
  * varied From/To/Cc over en/ru/de/fr/ja names, reply threads (In-Reply-To/References),
    Received chains, flags (\\Seen, \\Answered, \\Flagged).
Only reserved names are used: example.com/.net/.org, *.example, RFC 5737 addresses.

  gen_mail.py maildir --out DIR [--count N] [--start I] [--seed S]
      write messages straight into DIR/cur (Maildir, LF line ends, ,S= and ,W= sizes, mtime =
      arrival time) and print a JSON summary line.
  gen_mail.py append --host H --port P --user U --password PW [--count N] [--start I] [--seed S]
      IMAP APPEND the same messages to INBOX (plain LOGIN, loopback use only).
"""
import argparse
import base64
import binascii
import codecs
import datetime as dt
import imaplib
import json
import math
import os
import random
import sys
import uuid

# ----------------------------------------------------------------------------- vocabulary
EN_WORDS = """account agenda agreement amount approval attached balance budget business
calendar call campaign client colleague confirm contract cost customer data deadline
delivery department discount document draft estimate feedback figures final follow forecast
invoice issue item launch lead list meeting milestone month note offer order partner payment
plan pricing priority product project proposal purchase quarter question quote receipt
record report request review revenue sales schedule service shipment signature software
status summary supplier support target task team terms ticket timeline update vendor
warehouse week workshop please kindly regarding attached below above next last this our your
their we will would could should must can already still soon today tomorrow monday tuesday
wednesday thursday friday and the for with from about into after before during within
without new revised updated final signed pending overdue confirmed approved shared internal
external""".split()
RU_WORDS = """счёт договор оплата поставка заказ клиент менеджер отдел проект встреча звонок
предложение коммерческое сумма скидка акт сверки накладная доставка склад товар услуга
срок неделя месяц квартал отчёт бюджет план задача согласование подпись печать директор
бухгалтерия юрист претензия гарантия возврат обмен счёт-фактура прайс-лист каталог
просим прошу сообщите направляем направляю высылаю прилагаю уточните подтвердите
согласуйте пожалуйста уважаемый уважаемая коллеги добрый день спасибо заранее срочно
сегодня завтра понедельник вторник среда четверг пятница до после в на по для от из
с без при о об также ещё уже новый новая обновлённый итоговый подписанный ожидаем""".split()
DE_WORDS = """Angebot Rechnung Bestellung Lieferung Vertrag Kunde Termin Besprechung Übersicht
Änderung Prüfung Zahlung Frist Größe Maßnahme Gebühr Rückfrage Bestätigung Unterlagen Anlage
Abteilung Geschäftsführung Lösung Qualität Menge Preis Rabatt Lager Versand bitte
freundlichen Grüßen sehr geehrte geehrter wir Sie Ihnen Ihre unsere für über mit nach vor
bis zum zur heute morgen nächste Woche dringend leider gerne möglich schön gemäß
zusätzlich bezüglich außerdem""".split()
FR_WORDS = """devis facture commande livraison contrat client rendez-vous réunion résumé
échéance délai règlement paiement société équipe prévision élément réception création
modification première dernière complète détaillée à la le les des une un pour avec sans
après avant chez très déjà bientôt merci cordialement veuillez trouver ci-joint prière
d'agréer l'expression œuvre coût €""".split()
JA_PHRASES = ["お世話になっております", "株式会社サンプルの田中です", "お見積りをお送りいたします",
              "ご確認のほどよろしくお願いいたします", "来週の打ち合わせについて", "資料を添付いたしました",
              "納期は月末を予定しております", "ご不明な点がございましたらご連絡ください",
              "請求書を送付いたします", "本日はありがとうございました", "引き続きよろしくお願い申し上げます"]

NAMES = {
    "en": (["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
            "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
            "Sarah", "Charles", "Karen", "Daniel", "Emily", "Matthew", "Olivia", "Oliver", "Grace"],
           ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson",
            "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White",
            "Harris", "Clark", "Lewis", "Walker", "Hall", "Young", "King", "O'Neil", "McDonald"]),
    "ru": (["Александр", "Дмитрий", "Максим", "Сергей", "Андрей", "Алексей", "Артём", "Илья",
            "Кирилл", "Михаил", "Анна", "Мария", "Елена", "Ольга", "Наталья", "Татьяна", "Ирина",
            "Екатерина", "Светлана", "Юлия", "Фёдор", "Пётр"],
           ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
            "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров",
            "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров"]),
    "de": (["Jürgen", "Günter", "Jörg", "Uwe", "Klaus", "Stefan", "Andreas", "Sabine", "Ursula",
            "Monika", "Petra", "Björn", "Käthe", "Lukas", "Anna", "Sören"],
           ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
            "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Groß", "Köhler", "Weiß"]),
    "fr": (["François", "Hélène", "Amélie", "Jérôme", "Cécile", "Benoît", "Élodie", "Gaëlle",
            "Loïc", "Noémie", "Pierre", "Chloé"],
           ["Lefèvre", "Girard", "Dubois", "Durand", "Moreau", "Bézier", "Lemaître", "Rousseau",
            "Fontaine", "Mercier", "Château", "Bonnet"]),
    "ja": (["太郎", "花子", "健", "美咲", "翔", "葵", "大輔", "由美"],
           ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村"]),
}
JA_ROMAJI = {"太郎": "taro", "花子": "hanako", "健": "ken", "美咲": "misaki", "翔": "sho", "葵": "aoi",
             "大輔": "daisuke", "由美": "yumi", "佐藤": "sato", "鈴木": "suzuki", "高橋": "takahashi",
             "田中": "tanaka", "伊藤": "ito", "渡辺": "watanabe", "山本": "yamamoto", "中村": "nakamura"}
TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o",
                     "p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e",
                     "yu", "ya"]))
LATIN = dict(zip("äöüßéèêëàâçîïôœùûüÿ", ["ae", "oe", "ue", "ss", "e", "e", "e", "e", "a", "a", "c",
                                         "i", "i", "o", "oe", "u", "u", "u", "y"]))
DOMAINS = ["example.com", "example.org", "example.net", "acme.example", "romashka.example",
           "vostok-trade.example", "nordlicht.example", "lumiere.example", "sakura-shoji.example",
           "mail.example.com", "corp.example.net", "sales.example.org"]
OUR_DOMAIN = "tandem.example"
MAILERS = ["Microsoft Outlook 16.0", "Mozilla Thunderbird 115.6.0", "Apple Mail (2.3731.700.6)",
           "Roundcube Webmail/1.6.5", "The Bat! (v10.5.3) Professional", "Zimbra 9.0.0_GA",
           "Evolution 3.46.4", "Microsoft Outlook 14.0", "K-9 Mail for Android", None]
ATTACH_TYPES = [("application/pdf", "pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
                ("image/jpeg", "jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01"),
                ("image/png", "png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
                ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx",
                 b"PK\x03\x04\x14\x00\x06\x00"),
                ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx",
                 b"PK\x03\x04\x14\x00\x06\x00"),
                ("application/zip", "zip", b"PK\x03\x04\x0a\x00\x00\x00")]
ATTACH_STEMS = {"en": ["invoice", "contract_signed", "price_list", "report_Q{q}", "photo", "scan"],
                "ru": ["Счёт_{n}", "Договор_поставки", "Акт_сверки", "Прайс-лист", "Коммерческое_предложение"],
                "de": ["Rechnung_{n}", "Angebot_Größe", "Lieferschein", "Übersicht"],
                "fr": ["Facture_{n}", "Devis_détaillé", "Bon_de_commande"],
                "ja": ["見積書_{n}", "請求書", "資料"]}

# (language, charset, weight)
PROFILES = [("en", "us-ascii", 8), ("en", "utf-8", 38), ("ru", "utf-8", 12),
            ("ru", "windows-1251", 14), ("ru", "koi8-r", 10), ("de", "iso-8859-1", 5),
            ("de", "utf-8", 4), ("fr", "iso-8859-15", 5), ("ja", "iso-2022-jp", 4)]
# body transfer encodings per charset: (cte, weight)
CTES = {"us-ascii": [("7bit", 1)],
        "utf-8": [("quoted-printable", 5), ("base64", 3), ("8bit", 2)],
        "windows-1251": [("8bit", 4), ("quoted-printable", 3), ("base64", 3)],
        "koi8-r": [("8bit", 7), ("base64", 3)],
        "iso-8859-1": [("quoted-printable", 7), ("8bit", 3)],
        "iso-8859-15": [("quoted-printable", 7), ("8bit", 3)],
        "iso-2022-jp": [("7bit", 1)]}
TZS = [dt.timezone(dt.timedelta(hours=h), n) for h, n in
       [(3, "MSK"), (1, "CET"), (2, "CEST"), (0, "UTC"), (-5, "EST"), (9, "JST"), (5, "YEKT")]]

POOL_SIZE = 4 << 20
_POOL = None


def pool():
    """4 MiB of fixed pseudo-random bytes: attachment payloads are slices of it (fast, repeatable)."""
    global _POOL
    if _POOL is None:
        _POOL = random.Random(20261121).randbytes(POOL_SIZE)
    return _POOL


def wchoice(rng, items):
    total = sum(w for *_, w in items)
    x = rng.uniform(0, total)
    for it in items:
        x -= it[-1]
        if x <= 0:
            return it
    return items[-1]


codecs.register_error("benchdash", lambda e: ("-", e.end))


def fit(s, cs):
    """Replace what the charset cannot carry (e.g. '№' in KOI8-R) by '-', as a real mailer would."""
    if cs == "utf-8":
        return s
    return s.encode(cs, "benchdash").decode(cs)


def encoded_words(s, cs, mode):
    """RFC 2047 encoded words (each <= 75 chars), split on character boundaries."""
    prefix = "=?%s?%s?" % (cs.upper() if cs != "utf-8" else "UTF-8", mode)
    words, cur = [], ""

    def enc(t):
        b = t.encode(cs)
        if mode == "B":
            return base64.b64encode(b).decode()
        out = []
        for c in b:
            ch = chr(c)
            if ch == " ":
                out.append("_")
            elif ch.isascii() and (ch.isalnum() or ch in "!*+-/"):
                out.append(ch)
            else:
                out.append("=%02X" % c)
        return "".join(out)

    for ch in s:
        if len(prefix) + len(enc(cur + ch)) + 2 > 75 and cur:
            words.append(prefix + enc(cur) + "?=")
            cur = ""
        cur += ch
    if cur:
        words.append(prefix + enc(cur) + "?=")
    return words


def hdr_text(s, cs, rng):
    """A header phrase/text: plain if ASCII, else encoded words (B or Q) in the message charset."""
    if s.isascii():
        return s
    mode = "B" if cs in ("iso-2022-jp", "koi8-r") or rng.random() < 0.6 else "Q"
    return "\n ".join(encoded_words(s, cs, mode))


def person(rng, lang):
    firsts, lasts = NAMES[lang]
    f, l = rng.choice(firsts), rng.choice(lasts)
    if lang == "ru" and f[-1] in "ая" and f != "Илья" and l[-1] in "вн":
        l += "а"
    if lang == "ja":
        name = l + " " + f
        local = JA_ROMAJI[f] + "." + JA_ROMAJI[l]
    else:
        name = f + " " + l
        low = name.lower()
        local = "".join(TRANSLIT.get(c, LATIN.get(c, c)) for c in low)
        local = "".join(c for c in local.replace(" ", rng.choice([".", "_", ""])) if c.isalnum() or c in "._")
    if rng.random() < 0.3:
        local = local[0] + "." + local.split(".")[-1] if "." in local else local
    return name, local + "@" + rng.choice(DOMAINS)


def addr(rng, name, email, cs):
    if rng.random() < 0.12:
        return email
    if name.isascii():
        if any(c in name for c in "'.,"):
            return '"%s" <%s>' % (name, email)
        return "%s <%s>" % (name, email)
    return "%s <%s>" % (hdr_text(name, cs, rng), email)


def words_line_paragraph(rng, lang, nsent):
    """A paragraph as a list of lines wrapped at ~72 characters."""
    lines, cur = [], ""
    if lang == "ja":
        text = "".join(rng.choice(JA_PHRASES) + "。" for _ in range(nsent))
        return [text[k:k + 36] for k in range(0, len(text), 36)]
    vocab = {"en": EN_WORDS, "ru": RU_WORDS, "de": DE_WORDS, "fr": FR_WORDS}[lang]
    for _ in range(nsent):
        ws = [rng.choice(vocab) for _ in range(rng.randint(6, 16))]
        if rng.random() < 0.15:
            ws.insert(rng.randrange(len(ws)), str(rng.randint(2, 99999)))
        ws[0] = ws[0][:1].upper() + ws[0][1:]
        sent = " ".join(ws) + rng.choice([".", ".", ".", "?", "!", ";"])
        for w in sent.split(" "):
            if cur and len(cur) + 1 + len(w) > 72:
                lines.append(cur)
                cur = w
            else:
                cur = (cur + " " + w) if cur else w
    if cur:
        lines.append(cur)
    return lines


GREET = {"en": "Dear {f},", "ru": "Добрый день, {f}!", "de": "Sehr geehrte(r) {n},",
         "fr": "Bonjour {f},", "ja": "{l}様"}
BYE = {"en": "Best regards,", "ru": "С уважением,", "de": "Mit freundlichen Grüßen",
       "fr": "Cordialement,", "ja": "よろしくお願いいたします。"}
SUBJECTS = {"en": ["Invoice #{n} for {co}", "Meeting on {day}", "Contract renewal {y}",
                   "Quote request: {n} units", "Project status update - week {w}",
                   "Your order {n} has shipped", "Follow-up on our call", "Q{q} budget review"],
            "ru": ["Счёт № {n} от {d}", "Договор поставки № {n}", "Коммерческое предложение для {co}",
                   "Акт сверки за {q} квартал", "Встреча в {day}", "Заявка на доставку {n}",
                   "Срочно: оплата по счёту {n}"],
            "de": ["Angebot Nr. {n}", "Rechnung {n} – Zahlungserinnerung", "Terminbestätigung {day}",
                   "Änderung der Lieferadresse", "Rückfrage zu Ihrer Bestellung {n}"],
            "fr": ["Devis n° {n}", "Facture {n} – échéance", "Réunion de suivi {day}",
                   "Commande {n} : livraison prévue", "Résumé de la réunion"],
            "ja": ["お見積りのご依頼（{n}）", "打ち合わせ日程のご相談", "請求書送付のご案内 {n}",
                   "資料送付の件", "納期のご確認"]}
COMPANIES = ["Acme Corp", "ООО «Ромашка»", "Nordlicht GmbH", "Lumière SARL", "Vostok Trade",
             "Sakura Shoji K.K.", "Globex", "Initech", "АО «Восток»", "Müller & Söhne KG"]
DAYS = {"en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
        "ru": ["понедельник", "вторник", "среду", "четверг", "пятницу"],
        "de": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag"],
        "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi"], "ja": ["月曜日", "火曜日"]}


def encode_body(raw, cte):
    if cte == "base64":
        return base64.encodebytes(raw)
    if cte == "quoted-printable":
        return binascii.b2a_qp(raw, istext=True)
    return raw


def msg_date(seed, i):
    r = random.Random(seed * 7919 + i)
    base = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=int(i * 6000))
    return base + dt.timedelta(seconds=r.randint(0, 5999)), r.choice(TZS)


def message_id(seed, i):
    r = random.Random(seed * 104729 + i)
    return "<%s.%d@%s>" % (uuid.UUID(int=r.getrandbits(128), version=4).hex[:20], i, r.choice(DOMAINS))


def part(ctype, cs, cte, raw, extra=""):
    head = "Content-Type: %s; charset=%s%s\nContent-Transfer-Encoding: %s\n\n" % (
        ctype, cs if cs != "iso-2022-jp" else "ISO-2022-JP", extra, cte)
    body = encode_body(raw, cte)
    if not body.endswith(b"\n"):
        body += b"\n"
    return head.encode("ascii") + body


def make_message(seed, i):
    """Return (bytes with LF line ends, flags string, arrival datetime)."""
    rng = random.Random(seed * 1000003 + i)
    lang, cs, _ = wchoice(rng, PROFILES)
    date, tz = msg_date(seed, i)
    sender_name, sender = person(rng, lang)
    rcpts = [person(rng, lang if rng.random() < 0.7 else "en") for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    rcpts[0] = (rcpts[0][0], rcpts[0][1].split("@")[0] + "@" + OUR_DOMAIN)
    ccs = [person(rng, lang) for _ in range(rng.choice([0, 0, 0, 1, 2]))]
    n = rng.randint(100, 99999)
    fmt = dict(n=n, co=rng.choice(COMPANIES), day=rng.choice(DAYS[lang]), y=date.year,
               w=date.isocalendar()[1], q=(date.month - 1) // 3 + 1, d=date.strftime("%d.%m.%Y"))
    subject = rng.choice(SUBJECTS[lang]).format(**fmt)
    reply = i > 10 and rng.random() < 0.3
    if reply:
        subject = rng.choice(["Re: ", "RE: ", "Re: Re: ", "AW: " if lang == "de" else "Re: "]) + subject
    subject = fit(subject, cs)
    has_attach = rng.random() < 0.10
    structure = "mixed" if has_attach else wchoice(rng, [("plain", 40), ("alternative", 48), ("html", 12)])[0]
    target = int(math.exp(rng.uniform(math.log(2048), math.log(20480))))

    # --- headers
    recv_ip = "192.0.2.%d" % rng.randint(1, 254)
    client_ip = "198.51.100.%d" % rng.randint(1, 254)
    local_date = date.astimezone(tz)
    dstr = local_date.strftime("%a, %d %b %Y %H:%M:%S ") + local_date.strftime("%z")
    sdomain = sender.split("@")[1]
    h = ["Return-Path: <%s>" % sender,
         "Delivered-To: %s" % rcpts[0][1],
         "Received: from mx%d.%s (mx%d.%s [%s])\n\tby mail.%s (Postfix) with ESMTPS id %s\n\tfor <%s>; %s"
         % (rng.randint(1, 4), sdomain, rng.randint(1, 4), sdomain, recv_ip, OUR_DOMAIN,
            "%010X" % rng.getrandbits(40), rcpts[0][1], dstr),
         "Received: from [%s] (unknown [%s])\n\tby mx.%s with ESMTPSA id %s; %s"
         % (client_ip, client_ip, sdomain, "%08x" % rng.getrandbits(32), dstr),
         "Date: " + dstr,
         "From: " + addr(rng, fit(sender_name, cs), sender, cs),
         "To: " + ",\n ".join(addr(rng, fit(a, cs), b, cs) for a, b in rcpts)]
    if ccs:
        h.append("Cc: " + ",\n ".join(addr(rng, fit(a, cs), b, cs) for a, b in ccs))
    h.append("Subject: " + hdr_text(subject, cs, rng))
    h.append("Message-ID: " + message_id(seed, i))
    if reply:
        parent = rng.randint(max(0, i - 200), i - 1)
        h.append("In-Reply-To: " + message_id(seed, parent))
        h.append("References: " + message_id(seed, max(0, parent - rng.randint(1, 5))) + "\n " +
                 message_id(seed, parent))
    mailer = rng.choice(MAILERS)
    if mailer:
        h.append(("X-Mailer: " if "Outlook" in mailer or "Bat" in mailer else "User-Agent: ") + mailer)
    if rng.random() < 0.08:
        h.append("List-Id: <news.%s>\nList-Unsubscribe: <mailto:unsubscribe@%s>" % (sdomain, sdomain))
    h.append("MIME-Version: 1.0")
    head_len = sum(len(x) + 1 for x in h)

    # --- body text, grown paragraph by paragraph until the encoded size reaches the target
    cte = wchoice(rng, CTES[cs])[0]
    budget = max(600, target - head_len - 300)
    if structure == "alternative":
        budget = int(budget / 2.4)  # the html copy is ~1.4x the text
    first = rcpts[0][0].split(" ")[0]
    paras = [[fit(GREET[lang].format(f=first, n=rcpts[0][0], l=rcpts[0][0].split(" ")[0]), cs)]]
    size = 0
    while size < budget:
        p = [fit(x, cs) for x in words_line_paragraph(rng, lang, rng.randint(2, 6))]
        size += len(encode_body(("\n".join(p) + "\n\n").encode(cs, "benchdash"), cte))
        paras.append(p)
    sig = [fit(BYE[lang], cs), fit(sender_name, cs), fit(rng.choice(COMPANIES), cs),
           "+%d %03d %03d-%02d-%02d" % (rng.choice([1, 7, 49, 33, 81]), rng.randint(100, 999),
                                       rng.randint(100, 999), rng.randint(10, 99), rng.randint(10, 99))]
    if reply:
        paras.append(["> " + ln for ln in words_line_paragraph(rng, lang, 3)])
        paras[-1] = [fit(x, cs) for x in paras[-1]]
    text = "\n\n".join("\n".join(p) for p in paras) + "\n\n-- \n" + "\n".join(sig) + "\n"
    text_raw = text.encode(cs, "benchdash")

    def html_raw():
        hp = ["<html><head>", '<meta http-equiv="Content-Type" content="text/html; charset=%s">' % cs,
              "<style>body{font-family:Calibri,Arial,sans-serif;font-size:11pt} p{margin:0 0 8px}</style>",
              "</head><body><div>"]
        for p in paras:
            hp.append("<p>" + "<br>\n".join(x.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                                            for x in p) + "</p>")
        if rng.random() < 0.3:
            hp.append('<table border="1" cellpadding="4" style="border-collapse:collapse">')
            for r in range(rng.randint(2, 8)):
                hp.append("<tr><td>%d</td><td>%s</td><td align=\"right\">%d.%02d</td></tr>"
                          % (r + 1, fit(rng.choice(COMPANIES), cs).replace("&", "&amp;"),
                             rng.randint(1, 99999), rng.randint(0, 99)))
            hp.append("</table>")
        hp.append('<p style="color:#555">' + "<br>\n".join(sig) + "</p></div></body></html>")
        return "\n".join(hp).encode(cs, "benchdash")

    bnd = lambda: "----=_Part_%d_%d.%d" % (i, rng.getrandbits(30), int(date.timestamp() * 1000))
    if structure == "plain":
        fl = "; format=flowed" if rng.random() < 0.2 and cte != "base64" else ""
        body = part("text/plain", cs, cte, text_raw, fl)
    elif structure == "html":
        body = part("text/html", cs, cte, html_raw())
    else:
        b1 = bnd()
        alt = ("Content-Type: multipart/alternative;\n boundary=\"%s\"\n\n" % b1).encode() + \
              b"--" + b1.encode() + b"\n" + part("text/plain", cs, cte, text_raw) + \
              b"\n--" + b1.encode() + b"\n" + part("text/html", cs, cte, html_raw()) + \
              b"\n--" + b1.encode() + b"--\n"
        if structure == "alternative":
            body = alt
        else:
            b2 = bnd()
            total = int(math.exp(rng.uniform(math.log(100 * 1024), math.log(1024 * 1024))))
            sizes = [total] if rng.random() < 0.8 else [total * 2 // 3, total - total * 2 // 3]
            out = [("Content-Type: multipart/mixed;\n boundary=\"%s\"\n\nThis is a multi-part message in MIME format.\n"
                    % b2).encode(), b"--" + b2.encode() + b"\n", alt if rng.random() < 0.7 else
                   part("text/plain", cs, cte, text_raw)]
            for k, sz in enumerate(sizes):
                ctype, ext, magic = rng.choice(ATTACH_TYPES)
                stem = rng.choice(ATTACH_STEMS[lang]).format(n=n + k, q=fmt["q"])
                fname = fit(stem, cs if cs != "us-ascii" else "utf-8") + "." + ext
                if fname.isascii():
                    disp = 'attachment;\n filename="%s"' % fname
                    ct = '%s;\n name="%s"' % (ctype, fname)
                elif rng.random() < 0.5:  # RFC 2231
                    q = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else
                                "".join("%%%02X" % b for b in c.encode("utf-8")) for c in fname)
                    disp = "attachment;\n filename*=utf-8''%s" % q
                    ct = "%s;\n name*=utf-8''%s" % (ctype, q)
                else:  # RFC 2047 inside quotes, as Outlook and The Bat! do
                    ew = "\n ".join(encoded_words(fname, cs if cs not in ("us-ascii",) else "utf-8", "B"))
                    disp = 'attachment;\n filename="%s"' % ew
                    ct = '%s;\n name="%s"' % (ctype, ew)
                off = rng.randrange(0, POOL_SIZE - sz)
                payload = magic + pool()[off:off + sz - len(magic)]
                out.append(("\n--%s\nContent-Type: %s\nContent-Transfer-Encoding: base64\n"
                            "Content-Disposition: %s\n\n" % (b2, ct, disp)).encode())
                out.append(base64.encodebytes(payload))
            out.append(("\n--%s--\n" % b2).encode())
            body = b"".join(out)
    msg = "\n".join(h).encode("ascii") + b"\n" + body
    flags = ""
    r = rng.random()
    if r < 0.05:
        flags = "FS"
    elif r < 0.15:
        flags = "RS"
    elif r < 0.75:
        flags = "S"
    arrival = date + dt.timedelta(seconds=rng.randint(1, 90))
    return msg, flags, arrival


def cmd_maildir(a):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(a.out, sub), exist_ok=True)
    total = attach = 0
    for i in range(a.start, a.start + a.count):
        msg, flags, arrival = make_message(a.seed, i)
        size, vsize = len(msg), len(msg) + msg.count(b"\n")
        ts = int(arrival.timestamp())
        name = "%d.M%dP%dQ%d.benchgen,S=%d,W=%d:2,%s" % (ts, i, a.seed, i, size, vsize, flags)
        path = os.path.join(a.out, "cur", name)
        with open(path, "wb") as f:
            f.write(msg)
        os.utime(path, (ts, ts))
        total += size
        attach += b"Content-Disposition: attachment" in msg
    print(json.dumps({"messages": a.count, "bytes": total, "with_attachments": attach}))


def cmd_append(a):
    im = imaplib.IMAP4(a.host, a.port)
    im.login(a.user, a.password)
    total = 0
    for i in range(a.start, a.start + a.count):
        msg, flags, arrival = make_message(a.seed, i)
        fl = "(%s)" % " ".join({"F": "\\Flagged", "R": "\\Answered", "S": "\\Seen"}[c] for c in flags)
        typ, _ = im.append(a.mailbox, fl, imaplib.Time2Internaldate(arrival.timestamp()), msg)
        if typ != "OK":
            sys.exit("APPEND failed for message %d" % i)
        total += len(msg)
    im.logout()
    print(json.dumps({"appended": a.count, "bytes": total}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sp = ap.add_subparsers(dest="cmd", required=True)
    m = sp.add_parser("maildir")
    m.add_argument("--out", required=True)
    ap_ = sp.add_parser("append")
    ap_.add_argument("--host", default="127.0.0.1")
    ap_.add_argument("--port", type=int, required=True)
    ap_.add_argument("--user", required=True)
    ap_.add_argument("--password", required=True)
    ap_.add_argument("--mailbox", default="INBOX")
    for p in (m, ap_):
        p.add_argument("--count", type=int, default=10000)
        p.add_argument("--start", type=int, default=0)
        p.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    {"maildir": cmd_maildir, "append": cmd_append}[a.cmd](a)


if __name__ == "__main__":
    main()
