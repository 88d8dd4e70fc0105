"""The whole registry path with real parts only: demo database -> web-api ->
bus -> device gateway -> emulated device. The window and the teller come from
PostgreSQL, not from a snapshot the test wrote."""
from conftest import wait_for
from servers import free_port
from test_gateway import BRANCH, Devsim, Listener, start_gateway


def test_demo_device_reports_under_its_window_with_the_teller_from_the_database(
        demo_db, bus, start_bin, tmp_path):
    with demo_db.cursor() as cur:
        cur.execute("""SELECT d.serial, w.id, w.number, w.code FROM device d
                       JOIN service_window w ON w.id = d.window_id
                       JOIN org_node n ON n.id = w.node_id
                       WHERE n.path = %s ORDER BY w.number LIMIT 1""", (BRANCH,))
        serial, window_id, number, code = cur.fetchone()
        cur.execute("""SELECT s.employee_no, s.name FROM staff s JOIN org_node n
                       ON n.id = s.node_id WHERE n.path = %s AND s.active
                       ORDER BY s.employee_no LIMIT 1""", (BRANCH,))
        employee, name = cur.fetchone()
    start_bin("web-api", {"EQMS_PG_CONNINFO": demo_db.conninfo, "EQMS_BUS_PUB": bus.xsub,
                          "EQMS_BUS_SUB": bus.xpub, "EQMS_HTTP_PORT": str(free_port()),
                          "EQMS_WEBAPI_PORT": "0"})   # the registry only: no REST port
    listener = Listener(bus)
    try:
        sim = Devsim(start_bin, tmp_path, 1, [serial])
        state = tmp_path / "state"
        state.mkdir()
        gw = start_gateway(start_bin, bus, sim, state)
        listener.wait("registry.snapshot", timeout=30)
        wait_for(lambda: (state / "registry.json").exists(), timeout=20)
        sim(op="login", device=0, employee=employee)
        topic, env = listener.wait("staff.login", serial=serial, timeout=20)[0]
        assert topic == f"staff.login.{BRANCH}.{code}"
        assert env["data"]["window"] == {"id": window_id, "number": number, "code": code}
        assert env["data"]["employee_no"] == employee
        # the teller's name from the database reached the device's screen
        wait_for(lambda: "accepted=1" in gw.log(), timeout=10)
        lcd = " ".join(sim(op="state", device=0)["lcd"][i]["text"] for i in range(4))
        assert name in lcd or employee in lcd, lcd
    finally:
        listener.close()
