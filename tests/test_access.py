"""Who may change the workspace: configuration decides, the local user needs none."""
from geo.store import access
from geo.store.access import HEADER, LOCAL, LOGIN, Config, config, identify


def test_with_nothing_configured_the_local_user_is_an_editor():
    user = identify({}, None, config({"GEO_USER": "ana"}))
    assert user == access.User("ana", True, LOCAL)


def test_a_trusted_header_names_the_user_and_the_editor_list_decides():
    cfg = config({"GEO_USER_HEADER": "X-Forwarded-User", "GEO_EDITORS": "edith, Ivan@Example.org"})
    assert identify({"X-Forwarded-User": "edith"}, None, cfg) == access.User("edith", True, HEADER)
    assert identify({"X-Forwarded-User": "ivan@example.org"}, None, cfg).editor  # emails compare without case
    assert identify({"X-Forwarded-User": "vera"}, None, cfg) == access.User("vera", False, HEADER)
    anonymous = identify({}, None, cfg)  # not through the proxy: nobody vouched for a name
    assert anonymous == access.User("", False, HEADER) and anonymous.label == "anonymous"


def test_behind_a_proxy_without_an_editor_list_everyone_only_views():
    cfg = config({"GEO_USER_HEADER": "X-Forwarded-User"})
    assert not identify({"X-Forwarded-User": "edith"}, None, cfg).editor
    assert identify({"X-Forwarded-User": "edith"}, None, Config("X-Forwarded-User", ("*",))).editor


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
