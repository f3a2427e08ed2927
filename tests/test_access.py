"""Who may change the workspace: configuration decides, the local user needs none."""
from geo.store import access
from geo.store.access import HEADER, LOCAL, LOGIN, Config, config, identify


def test_with_nothing_configured_the_local_user_is_an_editor():
    user = identify({}, None, config({"GEO_USER": "ana"}))
    assert user == access.User("ana", True, LOCAL, os_user=access.os_user())


def test_a_trusted_header_names_the_user_and_the_editor_list_decides():
    cfg = config({"GEO_USER_HEADER": "X-Forwarded-User", "GEO_EDITORS": "edith, Ivan@Example.org",
                  "GEO_PROXY_SECRET": "s3cret"})
    proxy = {access.SECRET_HEADER: "s3cret"}
    assert identify({"X-Forwarded-User": "edith", **proxy}, None, cfg) == access.User("edith", True, HEADER)
    assert identify({"X-Forwarded-User": "ivan@example.org", **proxy}, None, cfg).editor  # emails: any case
    assert identify({"X-Forwarded-User": "vera", **proxy}, None, cfg) == access.User("vera", False, HEADER)
    anonymous = identify(proxy, None, cfg)  # through the proxy, but nobody signed in
    assert anonymous == access.User("", False, HEADER) and anonymous.label == "anonymous"


def test_a_header_without_the_proxys_secret_is_an_anonymous_viewer_whatever_it_claims():
    cfg = config({"GEO_USER_HEADER": "X-Forwarded-User", "GEO_EDITORS": "edith", "GEO_PROXY_SECRET": "s3cret"})
    for sent in ({}, {access.SECRET_HEADER: "guess"}, {access.SECRET_HEADER: ""}):
        forged = identify({"X-Forwarded-User": "edith", **sent}, None, cfg)
        assert forged == access.User("", False, HEADER, claimed="edith") and forged.label == "anonymous"
    # No secret configured: no header is believed at all.
    unset = config({"GEO_USER_HEADER": "X-Forwarded-User", "GEO_EDITORS": "edith"})
    assert not identify({"X-Forwarded-User": "edith", access.SECRET_HEADER: ""}, None, unset).editor
    assert access.User("edith\n2026-01-01 admin import done", True).label == "edith\\n2026-01-01 admin import done"


def test_behind_a_proxy_without_an_editor_list_everyone_only_views():
    cfg = config({"GEO_USER_HEADER": "X-Forwarded-User", "GEO_PROXY_SECRET": "s"})
    assert not identify({"X-Forwarded-User": "edith", access.SECRET_HEADER: "s"}, None, cfg).editor
    assert identify({"X-Forwarded-User": "edith", access.SECRET_HEADER: "s"}, None,
                    Config("X-Forwarded-User", ("*",), secret="s")).editor


def test_st_login_is_used_where_configured():
    cfg = config({"GEO_EDITORS": "edith@example.org"})
    signed_in = {"is_logged_in": True, "email": "edith@example.org", "name": "Edith"}
    assert identify({}, signed_in, cfg) == access.User("edith@example.org", True, LOGIN)
    assert identify({}, {"is_logged_in": False}, cfg) == access.User("", False, LOGIN)
    # st.user without is_logged_in: login is not configured, so the local user it is
    assert identify({}, {}, config({"GEO_USER": "ana"})).source == LOCAL


def test_the_access_file_is_read_and_the_environment_wins(tmp_path):
    path = tmp_path / "access.toml"
    path.write_text('header = "X-Remote-User"\neditors = ["edith", "ivan"]\n')
    assert config({"GEO_ACCESS_FILE": str(path)}) == Config("X-Remote-User", ("edith", "ivan"))
    assert config({"GEO_ACCESS_FILE": str(path), "GEO_EDITORS": "vera"}).editors == ("vera",)
    assert not identify({}, None, config({"GEO_ACCESS_FILE": str(path), "GEO_USER": "ana"})).editor
