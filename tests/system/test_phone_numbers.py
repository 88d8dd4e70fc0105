"""Phone numbers are read one way everywhere (docs/alerts.md, "Phone
numbers"): the database's sms_phone_normal (alert recipients) gives, for
every case of tests/data/phones.txt, what sms-notifier's sn_customer_phone
gives (tests/unit/test_sn_customer.c reads the same list)."""
import os

import psycopg2
import pytest

CASES = os.path.join(os.path.dirname(__file__), "..", "data", "phones.txt")


def cases():
    with open(CASES, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#") and "\t" in line:
                given, want = line.split("\t")
                yield given, None if want == "-" else want


def test_the_database_reads_every_phone_as_the_notifier_does(db):
    checked = 0
    for given, want in cases():
        with db.cursor() as cur:
            if want is None:
                with pytest.raises(psycopg2.Error) as e:
                    cur.execute("SELECT sms_phone_normal(%s)", (given,))
                assert e.value.pgcode == "22023", given
            else:
                cur.execute("SELECT sms_phone_normal(%s)", (given,))
                assert cur.fetchone() == (want,), given
        db.rollback()
        checked += 1
    assert checked >= 20
