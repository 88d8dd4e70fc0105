"""The hall display's voice synthesised by web-api (docs/voice.md), against
the real bus, queue-manager and web-api: a real call's announcement, as the
display gets it from its live stream, fetched as audio with the display's
own device token, written to a file and measured by sox (a WAV of
plausible length that is not silence); fetched again it comes from the
cache (same ETag, the synthesis counter unchanged); a recall says it again
from the cache; bad arguments are refused naming them, another branch's
display is told the branch does not exist."""
import re
import subprocess
import urllib.request

from test_webapi_live import BRANCH, Hall, Stream, live  # noqa: F401 - the fixture
from webapi import problem

OTHER = "hq.r01.b0002"
AUDIO = f"/branches/{BRANCH}/announcements/audio"

# A call "请A零零一号到一号窗口" at 150 words a minute lasts 3.96 s,
# "Number A, 0 0 1, please go to window 1." 4.35 s and the longest the
# route says ("请V I P零零零一号到九百九十九号窗口") 6.07 s (espeak-ng 1.51,
# Debian 12): the bounds leave room for another voice or version, not for
# a clip cut short or one that runs on.
SECONDS = (1.5, 8.0)
# espeak-ng's speech has an RMS amplitude about 0.1 of full scale; silence
# (or a file of zeros) has 0
RMS_MIN = 0.02


def display_token(api, branch, scopes=("view_live_hall",)):
    """A client with a device token of `branch` (a display's by default)."""
    display_token.made += 1
    r = api.admin.post("/tokens", {"name": f"device-{display_token.made}",
                                   "scopes": list(scopes), "node": branch,
                                   "expires_in_days": 1})
    assert r.status_code == 201, r.text
    return api.client(r.json()["token"])


display_token.made = 0


def sox_measure(path):
    """(seconds, RMS amplitude) of the audio file at `path`, as sox reads it."""
    seconds = float(subprocess.run(["sox", "--i", "-D", str(path)], check=True,
                                   capture_output=True, text=True).stdout)
    # `sox FILE -n stat` writes its figures to stderr
    stat = subprocess.run(["sox", str(path), "-n", "stat"], check=True,
                          capture_output=True, text=True).stderr
    rms = float(re.search(r"^RMS\s+amplitude:\s+([0-9.]+)$", stat, re.M).group(1))
    length = float(re.search(r"^Length \(seconds\):\s+([0-9.]+)$", stat, re.M).group(1))
    assert abs(length - seconds) < 0.01, stat
    return seconds, rms


def metric(api, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{api.http_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(rf"^eqms_web_api_{name} (\d+)$", text, re.M)
    assert m, f"{name} not in /metrics"
    return int(m.group(1))


def fetch(client, number, window_no, **more):
    return client.get(AUDIO, params={"ticket": number, "window": str(window_no), **more})


def test_the_display_fetches_the_voice_of_a_real_call(live, tmp_path):  # noqa: F811
    display = display_token(live, BRANCH)
    hall = Hall(live, BRANCH)
    window, window_no = hall.staffed()
    stream = Stream(display, f"/live/branches/{BRANCH}",
                    last_id=hall.snapshot()["live_event_id"])
    assert stream.status == 200
    number = hall.issue()
    assert live.admin.post(f"/windows/{window}/call-next").status_code == 200
    announce = stream.next("announce", where=lambda e: e["data"]["number"] == number)["data"]
    assert announce["window_no"] == window_no
    syntheses = metric(live, "voice_syntheses_total")

    # what the display asks for the announcement it got
    r = fetch(display, announce["number"], announce["window_no"])
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "audio/wav"
    assert int(r.headers["Content-Length"]) == len(r.content)
    assert r.headers["Cache-Control"] == "private, max-age=86400"
    assert "Content-Encoding" not in r.headers
    etag = r.headers["ETag"]
    wav = tmp_path / "call.wav"
    wav.write_bytes(r.content)
    seconds, rms = sox_measure(wav)
    assert SECONDS[0] <= seconds <= SECONDS[1], seconds
    assert rms >= RMS_MIN, rms
    assert metric(live, "voice_syntheses_total") == syntheses + 1

    # again: the same bytes from the cache, synthesised once
    hits = metric(live, "voice_cache_hits_total")
    again = fetch(display, number, window_no)
    assert again.status_code == 200
    assert again.headers["ETag"] == etag and again.content == r.content
    assert metric(live, "voice_cache_hits_total") == hits + 1
    assert metric(live, "voice_syntheses_total") == syntheses + 1
    # a device that kept it asks whether it changed: it did not
    assert display.get(AUDIO, params={"ticket": number, "window": str(window_no)},
                       headers={"If-None-Match": etag}).status_code == 304
    # the same ticket at another window of the branch: never called there
    elsewhere = 1 if window_no != 1 else 2
    assert f"no call of {number} to window {elsewhere}" in problem(
        fetch(display, number, elsewhere), 404)["detail"]

    # a recall is announced again (once the first one's time is over:
    # queue-manager spaces them), and said from the cache
    assert live.admin.post(f"/windows/{window}/recall").status_code == 200
    recalled = stream.next("announce", timeout=announce["duration_ms"] / 1000 + 5,
                           where=lambda e: e["data"]["seq"] > announce["seq"])
    assert (recalled["data"]["number"], recalled["data"]["window_no"]) == (number, window_no)
    third = fetch(display, number, window_no)
    assert third.headers["ETag"] == etag
    assert metric(live, "voice_syntheses_total") == syntheses + 1

    # in English: other words, of plausible length too
    en = fetch(display, number, window_no, lang="en")
    assert en.status_code == 200 and en.headers["ETag"] != etag
    (tmp_path / "call-en.wav").write_bytes(en.content)
    seconds, rms = sox_measure(tmp_path / "call-en.wav")
    assert SECONDS[0] <= seconds <= SECONDS[1] and rms >= RMS_MIN, (seconds, rms)
    assert metric(live, "voice_syntheses_total") == syntheses + 2
    stream.close()


def member(r, status):
    body = problem(r, status)
    return [e["member"] for e in body.get("errors", [])], body["detail"]


# malformed arguments, each with the one it names
BAD = [("ticket", {"ticket": None}), ("ticket", {"ticket": "a012"}), ("ticket", {"ticket": "A12"}),
       ("ticket", {"ticket": "A000"}), ("ticket", {"ticket": "ABCD012"}),
       ("ticket", {"ticket": "请A012"}), ("ticket", {"ticket": "A012 "}),
       ("window", {"window": None}), ("window", {"window": "0"}), ("window", {"window": "1000"}),
       ("window", {"window": "03"}), ("window", {"window": "3号"}), ("window", {"window": "-3"}),
       ("lang", {"lang": "fr"}), ("lang", {"lang": ""})]


def test_bad_arguments_are_refused_naming_them(live):  # noqa: F811
    display = display_token(live, BRANCH)
    for name, change in BAD:
        params = {k: v for k, v in dict({"ticket": "A012", "window": "3"}, **change).items()
                  if v is not None}
        r = display.get(AUDIO, params=params)
        assert r.status_code == 400, (params, r.status_code)
        members, _ = member(r, 400)
        assert members == [name], (params, members)


def test_what_the_branch_does_not_have_or_the_caller_may_not_hear(live):  # noqa: F811
    display = display_token(live, BRANCH)
    # no text of the caller's is ever said: another argument is refused
    _, detail = member(display.get(AUDIO, params={"ticket": "A012", "window": "3",
                                                  "text": "hello"}), 400)
    assert "text" in detail
    _, detail = member(display.get(AUDIO + "?ticket=A012&ticket=A013&window=3"), 400)
    assert "ticket" in detail
    # well formed, but not of this branch: a window it lacks, a queue it lacks
    members, detail = member(display.get(AUDIO, params={"ticket": "A012", "window": "77"}), 422)
    assert members == ["window"] and "77" in detail
    members, detail = member(display.get(AUDIO, params={"ticket": "X012", "window": "3"}), 422)
    assert members == ["ticket"] and "X" in detail
    # another branch's display: as if the branch did not exist
    other = display_token(live, OTHER)
    assert "no such branch" in problem(other.get(AUDIO, params={"ticket": "A012",
                                                                "window": "3"}), 404)["detail"]
    assert fetch(other, "A012", 3).status_code == 404
    # well formed and of the branch, but never called there: nothing is said
    # that the hall was not told
    assert "no call of A012 to window 3" in problem(
        other.get(f"/branches/{OTHER}/announcements/audio",
                  params={"ticket": "A012", "window": "3"}), 404)["detail"]
    # a kiosk's token without view_live_hall
    kiosk = display_token(live, BRANCH, scopes=("issue_tickets",))
    assert "view_live_hall" in problem(fetch(kiosk, "A012", 3), 403)["detail"]
