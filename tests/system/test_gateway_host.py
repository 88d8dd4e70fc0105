"""The host drives the rating device as the PC caller software drives a
jD-919K: the `staff` and `rate` device commands on the bus reach the real
gateway, which sends SET_STAFF and REQUEST_RATING through real libusb to an
emulated device running the real firmware core (eqms-devsim). The device
shows the teller the host logged in and asks the customer to rate; the
rating that follows carries the host's teller and ticket, and the device
stores no staff.login, service.end or staff.logout of its own for them."""
from conftest import wait_for
from servers import free_port
from test_gateway import BRANCH, Devsim, Listener, assign, rig, start_gateway  # noqa: F401

SERIAL = "EQ-B0001-W01"


def command(listener, **data):
    listener.publish("cmd.device", f"{BRANCH}.w01", dict(serial=SERIAL, **data))


def device(sim):
    return sim(op="state", device=0)


def lcd(sim):
    return [line["text"] for line in device(sim)["lcd"]]


def test_host_logs_the_teller_in_and_asks_for_a_rating(rig):  # noqa: F811
    assign(rig)
    rig.listener.wait("device.online", serial=SERIAL)
    command(rig.listener, command="staff", employee_no="1001", name="王芳")
    wait_for(lambda: device(rig.sim)["state"] == "idle", timeout=10)
    # the idle screen of an accepted login (lines 0 and 1: the registry's text)
    assert lcd(rig.sim) == ["欢迎光临", "1号窗口", "工号1001", "已服务0人"], lcd(rig.sim)
    assert "event=staff_set" in rig.gw.log()
    # A012 called to this window: the teller's name under it
    command(rig.listener, command="ticket", ticket="A012", window_number=1)
    wait_for(lambda: lcd(rig.sim) == ["请A012号", "到1号窗口", "王芳", "工号1001"], timeout=10)

    # the teller finished A012 at the PC: the device asks for the rating
    command(rig.listener, command="rate", ticket="A012")
    wait_for(lambda: device(rig.sim)["state"] == "await_rating", timeout=10)
    state = device(rig.sim)
    assert state["last_prompt"] == 2                      # 您好，请对我的服务进行评价
    assert [line["text"] for line in state["lcd"]][0:2] == ["您好，请对我的", "服务进行评价"]
    assert state["lcd"][3]["text"] == "A012"
    # the same teller again with a name too long for the device: cut at a
    # character (logged), the rating window goes on
    command(rig.listener, command="staff", employee_no="1001", name="欧阳一二三四五六七")
    wait_for(lambda: "event=name_cut" in rig.gw.log(), timeout=10)
    assert device(rig.sim)["state"] == "await_rating"

    rig.sim(op="press", device=0, key="rate2")
    _, env = rig.listener.wait("rating.submitted", serial=SERIAL)[0]
    d = env["data"]
    assert (d["employee_no"], d["ticket"], d["option_code"], d["label"]) == \
        ("1001", "A012", 2, "满意")
    assert d["service_ms"] is None                        # the host timed the service
    assert d["window"]["number"] == 1
    # the host's login and rate made no event of the device's: the rating
    # (stored after them) has come, so anything stored before it would have
    assert not rig.listener.of("staff.login", serial=SERIAL)
    assert not rig.listener.of("service.end", serial=SERIAL)
    assert not rig.listener.of("service.start", serial=SERIAL)
    wait_for(lambda: device(rig.sim)["state"] == "idle", timeout=10)
    assert lcd(rig.sim) == ["欢迎光临", "1号窗口", "工号1001", "已服务1人"], lcd(rig.sim)
    command(rig.listener, command="ticket", ticket="A013", window_number=1)
    wait_for(lambda: lcd(rig.sim)[2] == "欧阳一二三四五六", timeout=10)

    # the host logs the teller out: no staff, no staff.logout
    command(rig.listener, command="staff", employee_no="", name="")
    wait_for(lambda: device(rig.sim)["state"] == "no_staff", timeout=10)
    assert lcd(rig.sim)[:3] == ["欢迎光临", "暂无柜员", "请输入工号"]
    # a login typed on the device afterwards is stored (and published) after
    # anything the logout could have stored
    rig.sim(op="login", device=0, employee="1001")
    rig.listener.wait("staff.login", serial=SERIAL)
    assert not rig.listener.of("staff.logout", serial=SERIAL)
    assert device(rig.sim)["stats"]["commands_rejected"] == 0
    wait_for(lambda: device(rig.sim)["ring_used"] == 0)   # and all acknowledged


def test_rate_without_a_teller_is_ignored_by_the_device(rig):  # noqa: F811
    assign(rig)
    rig.listener.wait("device.online", serial=SERIAL)
    wait_for(lambda: device(rig.sim)["stats"]["commands_applied"] >= 7)
    before = device(rig.sim)["stats"]["commands_rejected"]
    command(rig.listener, command="rate", ticket="A012")
    wait_for(lambda: device(rig.sim)["stats"]["commands_rejected"] == before + 1, timeout=10)
    assert device(rig.sim)["state"] == "no_staff"
    # a bad command never reaches the device: refused with its reason
    command(rig.listener, command="staff", employee_no="12345678901234567", name="王芳")
    wait_for(lambda: "employee_no must be" in rig.gw.log(), timeout=10)
    command(rig.listener, command="rate", ticket="a012")
    wait_for(lambda: "rate: ticket must be" in rig.gw.log(), timeout=10)
    assert device(rig.sim)["state"] == "no_staff"


def test_older_firmware_gets_no_host_commands(bus, start_bin, tmp_path):
    """A device that says firmware 1.1 in its hello would reject SET_STAFF
    and REQUEST_RATING as unknown: the gateway does not send them (logged,
    counted) and the device keeps working as it did."""
    sim = Devsim(start_bin, tmp_path, 1, [SERIAL], env={"EQMS_DEVSIM_FIRMWARE": "1.1"})
    listener = Listener(bus)
    state = tmp_path / "state"
    state.mkdir()
    gw = start_gateway(start_bin, bus, sim, state, free_port())

    class Rig:
        pass
    r = Rig()
    r.listener, r.state, r.serials = listener, state, [SERIAL]
    try:
        assign(r)
        _, online = listener.wait("device.online", serial=SERIAL)[0]
        assert online["data"]["firmware"] == "1.1.0"
        wait_for(lambda: device(sim)["stats"]["commands_applied"] >= 7)
        command(listener, command="staff", employee_no="1001", name="王芳")
        command(listener, command="rate", ticket="A012")
        wait_for(lambda: gw.log().count("needs 1.2") == 2, timeout=10)
        assert device(sim)["state"] == "no_staff"
        # nothing unknown reached it (the emulated 1.1 would count it here)
        assert device(sim)["stats"]["commands_rejected"] == 0
        # its own login still works, and a 1.0 command still goes
        sim(op="login", device=0, employee="1001")
        listener.wait("staff.login", serial=SERIAL)
        command(listener, command="text", target="now", lines=["请稍候"])
        wait_for(lambda: lcd(sim)[0] == "请稍候", timeout=10)
    finally:
        listener.close()
