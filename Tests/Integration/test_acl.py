"""ACL (Redis 7.0): users and their rules, judged by Redis 7.0's exact replies.

Covers ACL SETUSER/GETUSER/DELUSER/LIST/USERS/WHOAMI/CAT/GENPASS/HELP/DRYRUN/LOG/SAVE/LOAD:
the ACL LIST line each rule set gives, GETUSER in RESP2 and RESP3, the SETUSER error texts;
AUTH and HELLO AUTH as users, requirepass as the default user's password; the -NOPERM texts
for commands, keys and channels and the ACL LOG entries they leave (merged when repeated);
%R~/%W~ key patterns, channel patterns, denials inside MULTI, subcommand and first-argument
rules; `user` lines in a config file, `aclfile` with LOAD/SAVE, CLIENT LIST/KILL USER. The last
two tests compare ACL DRYRUN and ACL CAT with a real redis-server started alongside.

Most tests share one module-scoped server whose users are reset before each test.

Redis 7.0 lists single-command rules (`+get +set`, `+select|0`) in its command table's hash order,
which changes from one process to the next: `canonical` orders each run of them by command name
before comparing.
"""

import hashlib
import os
import shutil
import subprocess

import pytest

from conftest import server_binary
from helpers import RespError, ServerProcess, free_port, wait_until

REDIS_SERVER = shutil.which("redis-server")

DEFAULT_LINE = "user default on nopass ~* &* +@all"
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
NOPERM_KEY = "NOPERM this user has no permissions to access one of the keys used as arguments"
NOPERM_CHANNEL = "NOPERM this user has no permissions to access one of the channels used as arguments"
LOG_FIELDS = ["count", "reason", "context", "object", "username", "age-seconds", "client-info"]


def noperm_command(name):
    return f"NOPERM this user has no permissions to run the '{name}' command"


def sha(password):
    return hashlib.sha256(password.encode()).hexdigest()


def text(reply):
    """An error's text, a bytes reply decoded, anything else as is."""
    if isinstance(reply, RespError):
        return reply.text
    if isinstance(reply, bytes):
        return reply.decode()
    return reply


def setuser(c, name, *rules):
    reply = c.call("ACL", "SETUSER", name, *rules)
    assert reply == b"OK", reply


def canonical(rules):
    """Rules with each run of single-command tokens put in command-name order; the tokens of one
    command (`+config -config|get`) and the categories keep their order."""
    out, run = [], []

    def flush():
        out.extend(sorted(run, key=lambda token: token[1:].split("|")[0]))  # a stable sort
        run.clear()

    for token in rules.split(" "):
        if token[:1] in "+-" and token[1:2] != "@" and not token.endswith(")"):
            run.append(token)
        else:
            flush()
            out.append(token)
    flush()
    return " ".join(out)


def acl_list(c):
    return [line.decode() for line in c.call("ACL", "LIST")]


def user_line(c, name):
    return next(line for line in acl_list(c) if line.split()[1] == name)


def log_entries(c, *count):
    """ACL LOG as dicts (RESP2 replies are flat field/value lists), checking the field layout."""
    entries = []
    for entry in c.call("ACL", "LOG", *count):
        if isinstance(entry, list):
            assert [k.decode() for k in entry[0::2]] == LOG_FIELDS
            entry = dict(zip(entry[0::2], entry[1::2]))
        entries.append({k.decode(): text(v) for k, v in entry.items()})
    return entries


def dryrun(c, user, *args):
    return text(c.call("ACL", "DRYRUN", user, *args))


def reset_acl(c):
    """Only the default user, as at start-up; empty ACL LOG and dataset."""
    for name in c.call("ACL", "USERS"):
        if name != b"default":
            c.call("ACL", "DELUSER", name)
    setuser(c, "default", "on", "nopass", "allkeys", "allchannels", "allcommands", "clearselectors")
    assert acl_list(c) == [DEFAULT_LINE]
    assert c.call("ACL", "LOG", "RESET") == b"OK"
    c.call("FLUSHALL")


def is_redis(binary):
    return "redis" in os.path.basename(binary)


@pytest.fixture(scope="module")
def acl_server(tmp_path_factory):
    srv = ServerProcess(server_binary(), str(tmp_path_factory.mktemp("acl"))).start()
    yield srv
    srv.stop()


@pytest.fixture
def admin(acl_server):
    """A connection as the default user on the ACL server, its users reset."""
    with acl_server.raw() as c:
        reset_acl(c)
        yield c


@pytest.fixture
def login(acl_server, admin):
    """login(user, password) -> a new connection authenticated as user."""
    clients = []

    def factory(user, password="pw"):
        c = acl_server.raw()
        clients.append(c)
        assert c.call("AUTH", user, password) == b"OK"
        return c

    yield factory
    for c in clients:
        c.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A redis-server beside the server under test; None when that is redis-server itself."""
    if is_redis(server_binary()) or REDIS_SERVER is None:
        yield None
        return
    srv = ServerProcess(REDIS_SERVER, str(tmp_path_factory.mktemp("acl-ref"))).start()
    yield srv
    srv.stop()


# --- ACL SETUSER and the ACL LIST line it leaves -----------------------------------------------

LIST_LINES = [
    (["on", ">p1", "~cache:*", "+@read"], f"user alice on #{sha('p1')} ~cache:* resetchannels -@all +@read"),
    (["+@all", "-@dangerous"], "user alice off resetchannels +@all -@dangerous"),
    (["%R~r:*", "%W~w:*"], "user alice off %R~r:* %W~w:* resetchannels -@all"),
    (["%R~a", "%W~a", "%RW~b"], "user alice off ~a ~b resetchannels -@all"),
    (["~a", "~b", "resetkeys", "~c"], "user alice off ~c resetchannels -@all"),
    (["&chan:*"], "user alice off resetchannels &chan:* -@all"),
    (["&a", "allchannels"], "user alice off &* -@all"),
    (["allchannels", "resetchannels"], "user alice off resetchannels -@all"),
    (["nopass"], "user alice off nopass resetchannels -@all"),
    (["#" + sha("pw")], f"user alice off #{sha('pw')} resetchannels -@all"),
    ([">a", ">b", "<a"], f"user alice off #{sha('b')} resetchannels -@all"),
    (["(+set ~w:*)"], "user alice off resetchannels -@all (~w:* resetchannels -@all +set)"),
    (["(~a %R~b &c +@all -@admin)"], "user alice off resetchannels -@all (~a %R~b resetchannels &c +@all -@admin)"),
    (["(+set ~w:*)", "(+get ~r:*)", "clearselectors"], "user alice off resetchannels -@all"),
    (["on", "nopass", "~*", "&*", "+@all", "reset"], "user alice off sanitize-payload resetchannels -@all"),
    (["skip-sanitize-payload"], "user alice off skip-sanitize-payload resetchannels -@all"),
    (["allkeys", "allcommands", "allchannels"], "user alice off ~* &* +@all"),
    (["-@all", "+@all"], "user alice off resetchannels +@all"),
    (["+@all", "-@all"], "user alice off resetchannels -@all"),
    (["nocommands"], "user alice off resetchannels -@all"),
    # Redis's best-fit description: categories it can name, in the order its search finds them.
    (["+@read", "+@write"], "user alice off resetchannels -@all +@write +@read"),
    (["+get", "+@read"], "user alice off resetchannels -@all +@read"),
    (["+@read", "-get"], "user alice off resetchannels -@all +@read -get"),
    (["+@hash", "-hset", "+@string"], "user alice off resetchannels -@all +@string +@hash -hset"),
    (["+@all", "-@read", "+get"], "user alice off resetchannels +@all -@read +get"),
    (["+@all", "-config|set"], "user alice off resetchannels +@all -config|set"),
    (["-@all", "+get", "+set", "+hget"], "user alice off resetchannels -@all +get +set +hget"),
    (["-@all", "+config|get", "+select|0"], "user alice off resetchannels -@all +config|get +select|0"),
    (["+select|0", "+select|1", "+select"], "user alice off resetchannels -@all +select"),
]


@pytest.mark.parametrize("rules,line", LIST_LINES, ids=[" ".join(r) for r, _ in LIST_LINES])
def test_setuser_list_line(admin, rules, line):
    setuser(admin, "alice", *rules)
    assert canonical(user_line(admin, "alice")) == canonical(line)


def test_users_list_whoami(admin, login):
    assert admin.call("ACL", "WHOAMI") == b"default"
    setuser(admin, "zed")
    setuser(admin, "bob", "on", ">pw")
    assert admin.call("ACL", "USERS") == [b"bob", b"default", b"zed"]
    assert acl_list(admin) == [f"user bob on #{sha('pw')} resetchannels -@all", DEFAULT_LINE,
                               "user zed off resetchannels -@all"]
    setuser(admin, "bob", "+acl|whoami")
    assert login("bob").call("ACL", "WHOAMI") == b"bob"


def test_getuser_resp2_and_resp3(acl_server, admin):
    setuser(admin, "alice", "on", ">p1", ">p2", "~cache:*", "%R~r:*", "&chan", "-@all", "+@read",
            "(+set ~w:* &c)")
    assert admin.call("ACL", "GETUSER", "alice") == [
        b"flags", [b"on"],
        b"passwords", [sha("p1").encode(), sha("p2").encode()],
        b"commands", b"-@all +@read",
        b"keys", b"~cache:* %R~r:*",
        b"channels", b"&chan",
        b"selectors", [[b"commands", b"-@all +set", b"keys", b"~w:*", b"channels", b"&c"]],
    ]
    assert admin.call("ACL", "GETUSER", "default") == [
        b"flags", [b"on", b"nopass"], b"passwords", [], b"commands", b"+@all",
        b"keys", b"~*", b"channels", b"&*", b"selectors", []]
    setuser(admin, "bare", "reset")
    assert admin.call("ACL", "GETUSER", "bare") == [
        b"flags", [b"off", b"sanitize-payload"], b"passwords", [], b"commands", b"-@all",
        b"keys", b"", b"channels", b"", b"selectors", []]
    assert admin.call_wire("ACL", "GETUSER", "nosuch") == b"$-1\r\n"
    with acl_server.raw() as c3:
        c3.call("HELLO", "3")
        # flags is a RESP3 set, passwords an array, each selector a map.
        assert c3.call_wire("ACL", "GETUSER", "bare").startswith(
            b"%6\r\n$5\r\nflags\r\n~2\r\n$3\r\noff\r\n$16\r\nsanitize-payload\r\n$9\r\npasswords\r\n*0\r\n")
        assert c3.call("ACL", "GETUSER", "alice") == {
            b"flags": {b"on"},
            b"passwords": [sha("p1").encode(), sha("p2").encode()],
            b"commands": b"-@all +@read",
            b"keys": b"~cache:* %R~r:*",
            b"channels": b"&chan",
            b"selectors": [{b"commands": b"-@all +set", b"keys": b"~w:*", b"channels": b"&c"}],
        }
        assert c3.call_wire("ACL", "GETUSER", "nosuch") == b"_\r\n"


def test_deluser(admin):
    setuser(admin, "a")
    setuser(admin, "b")
    assert admin.call("ACL", "DELUSER", "default").text == "ERR The 'default' user cannot be removed"
    # The refusal is for the whole command: 'a' survives.
    assert admin.call("ACL", "DELUSER", "a", "default").text == "ERR The 'default' user cannot be removed"
    assert admin.call("ACL", "DELUSER", "a", "b", "nosuch") == 2
    assert admin.call("ACL", "DELUSER", "a") == 0
    assert admin.call("ACL", "USERS") == [b"default"]
    assert admin.call("ACL", "DELUSER").text == "ERR wrong number of arguments for 'acl|deluser' command"


ALL_CATEGORIES = ["keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
                  "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
                  "dangerous", "connection", "transaction", "scripting"]


def test_cat(admin):
    assert [c.decode() for c in admin.call("ACL", "CAT")] == ALL_CATEGORIES
    read = {c.decode() for c in admin.call("ACL", "CAT", "read")}
    assert {"get", "mget", "hget", "exists"} <= read and not {"set", "del"} & read
    assert {c.decode() for c in admin.call("ACL", "CAT", "READ")} == read
    # Subcommands appear under their full names.
    dangerous = {c.decode() for c in admin.call("ACL", "CAT", "dangerous")}
    assert {"config|set", "flushall", "keys"} <= dangerous and "config" not in dangerous
    assert admin.call("ACL", "CAT", "nosuch").text == "ERR Unknown category 'nosuch'"


def test_genpass(admin):
    first, second = admin.call("ACL", "GENPASS"), admin.call("ACL", "GENPASS")
    assert len(first) == 64 and set(first.decode()) <= set("0123456789abcdef") and first != second
    # One hex digit per 4 bits, rounded up.
    for bits, length in [(1, 1), (4, 1), (5, 2), (8, 2), (9, 3), (128, 32), (4096, 1024)]:
        assert len(admin.call("ACL", "GENPASS", str(bits))) == length, bits
    error = ("ERR ACL GENPASS argument must be the number of bits for the output password, "
             "a positive number up to 4096")
    assert admin.call("ACL", "GENPASS", "0").text == error
    assert admin.call("ACL", "GENPASS", "4097").text == error
    assert admin.call("ACL", "GENPASS", "x").text == "ERR value is not an integer or out of range"


def test_help_and_subcommand_errors(admin):
    assert [line.decode() for line in admin.call("ACL", "HELP")] == [
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Prints this help.",
    ]
    assert admin.call("ACL", "NOSUCH").text == "ERR unknown subcommand 'NOSUCH'. Try ACL HELP."
    assert admin.call("ACL").text == "ERR wrong number of arguments for 'acl' command"
    assert admin.call("ACL", "GETUSER").text == "ERR wrong number of arguments for 'acl|getuser' command"


def modifier_error(rule, why):
    return f"ERR Error in ACL SETUSER modifier '{rule}': {why}"


UNKNOWN = "Unknown command or category name in ACL"
BAD_HASH = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
KEY_AFTER_ALL = ("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have "
                 "any effect. Try 'resetkeys' to start with an empty list of patterns")
SETUSER_ERRORS = [
    (["+nosuchcmd"], modifier_error("+nosuchcmd", UNKNOWN)),
    (["-nosuchcmd"], modifier_error("-nosuchcmd", UNKNOWN)),
    (["+@nosuch"], modifier_error("+@nosuch", UNKNOWN)),
    (["+config|nosuch"], modifier_error("+config|nosuch", UNKNOWN)),
    (["-select|0"], modifier_error("-select|0", UNKNOWN)),
    (["+config|get|x"], modifier_error("+config|get|x", "Allowing first-arg of a subcommand is not supported")),
    (["#xyz"], modifier_error("#xyz", BAD_HASH)),
    (["#" + "A" * 64], modifier_error("#" + "A" * 64, BAD_HASH)),
    (["!"], modifier_error("!", BAD_HASH)),
    (["<nosuch"], modifier_error("<nosuch", "The password you are trying to remove from the user does not exist")),
    (["bogus"], modifier_error("bogus", "Syntax error")),
    (["%X~a"], modifier_error("%X~a", "Syntax error")),
    (["~*", "~a"], modifier_error("~a", KEY_AFTER_ALL)),
    (["allkeys", "%R~a"], modifier_error("%R~a", KEY_AFTER_ALL)),
    (["&*", "&a"], modifier_error("&a", (
        "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any "
        "effect. Try 'resetchannels' to start with an empty list of channels"))),
    (["(+get"], "ERR Unmatched parenthesis in acl selector starting at '(+get'."),
    (["(+get ~a)", "("], "ERR Unmatched parenthesis in acl selector starting at '('."),
]


@pytest.mark.parametrize("rules,error", SETUSER_ERRORS, ids=[" ".join(r) for r, _ in SETUSER_ERRORS])
def test_setuser_errors(admin, rules, error):
    assert text(admin.call("ACL", "SETUSER", "alice", *rules)) == error
    # A refused SETUSER creates nothing.
    assert admin.call("ACL", "USERS") == [b"default"]


def test_setuser_is_all_or_nothing(admin):
    setuser(admin, "alice", "on", "+get")
    assert admin.call("ACL", "SETUSER", "alice", "+set", "+nosuch", "~k").text == modifier_error("+nosuch", UNKNOWN)
    assert user_line(admin, "alice") == "user alice on resetchannels -@all +get"
    assert admin.call("ACL", "SETUSER", "a b").text == "ERR Usernames can't contain spaces or null characters"
    assert admin.call("ACL", "SETUSER").text == "ERR wrong number of arguments for 'acl|setuser' command"


# --- AUTH, HELLO, requirepass ------------------------------------------------------------------

def test_auth_as_users(acl_server, admin):
    setuser(admin, "alice", "on", ">pw", "+@all", "~*")
    setuser(admin, "bob", "off", ">pw", "+@all", "~*")
    with acl_server.raw() as c:
        assert c.call("AUTH", "alice", "bad").text == WRONGPASS
        assert c.call("AUTH", "nosuch", "pw").text == WRONGPASS
        assert c.call("AUTH", "bob", "pw").text == WRONGPASS  # off
        assert c.call("ACL", "WHOAMI") == b"default"
        assert c.call("AUTH", "alice", "pw") == b"OK"
        assert c.call("ACL", "WHOAMI") == b"alice"
        assert c.call("AUTH", "a", "b", "c").text == "ERR syntax error"
        # The default user is nopass: any password will do.
        assert c.call("AUTH", "default", "anything") == b"OK"
        assert c.call("ACL", "WHOAMI") == b"default"
        assert c.call("AUTH", "pw").text == ("ERR AUTH <password> called without any password configured "
                                             "for the default user. Are you sure your configuration is correct?")
    # Failed AUTHs are logged under the name tried; object is the command.
    entries = log_entries(admin)
    assert [(e["reason"], e["context"], e["object"], e["username"], e["count"]) for e in entries] == [
        ("auth", "toplevel", "AUTH", "bob", 1),
        ("auth", "toplevel", "AUTH", "nosuch", 1),
        ("auth", "toplevel", "AUTH", "alice", 1),
    ]


def test_hello_auth(acl_server, admin):
    setuser(admin, "alice", "on", ">pw", "+@all", "~*")
    with acl_server.raw() as c:
        assert c.call("HELLO", "3", "AUTH", "alice", "bad").text == WRONGPASS
        assert c.call_wire("GET", "k") == b"$-1\r\n"  # still RESP2
        reply = c.call("HELLO", "3", "AUTH", "alice", "pw")
        assert reply[b"proto"] == 3
        assert c.call("ACL", "WHOAMI") == b"alice"
        assert c.call_wire("GET", "k") == b"_\r\n"
    setuser(admin, "alice", "off")
    with acl_server.raw() as c:
        assert c.call("HELLO", "2", "AUTH", "alice", "pw").text == WRONGPASS
    assert [(e["object"], e["username"], e["count"]) for e in log_entries(admin)] == [("HELLO", "alice", 2)]


def test_requirepass_is_the_default_users_password(make_server):
    srv = make_server(["--requirepass", "secret"])
    with srv.raw() as c:
        assert c.call("ACL", "WHOAMI").text == "NOAUTH Authentication required."
        assert c.call("AUTH", "bad").text == WRONGPASS
        assert c.call("AUTH", "secret") == b"OK"
        assert c.call("AUTH", "default", "secret") == b"OK"
        assert c.call("ACL", "WHOAMI") == b"default"
        assert acl_list(c) == [f"user default on #{sha('secret')} ~* &* +@all"]
        assert c.call("CONFIG", "SET", "requirepass", "other") == b"OK"
        assert acl_list(c) == [f"user default on #{sha('other')} ~* &* +@all"]
        assert c.call("CONFIG", "SET", "requirepass", "") == b"OK"
        assert acl_list(c) == [DEFAULT_LINE]
    with srv.raw() as c:
        assert c.call("PING") == b"PONG"


# --- -NOPERM and ACL LOG -----------------------------------------------------------------------

def test_noperm_key_and_command_logged(admin, login):
    setuser(admin, "alice", "on", ">pw", "~cache:*", "+@read")
    c = login("alice")
    assert c.call("GET", "cache:1") is None
    assert c.call("GET", "other").text == NOPERM_KEY
    assert c.call("SET", "cache:x", "1").text == noperm_command("set")
    # The command is checked before the keys; subcommands go by their full name.
    assert c.call("SET", "other", "1").text == noperm_command("set")
    assert c.call("CONFIG", "GET", "port").text == noperm_command("config|get")
    assert c.call("ACL", "WHOAMI").text == noperm_command("acl|whoami")
    # An unknown command is still unknown.
    assert c.call("NOSUCH").text == "ERR unknown command 'NOSUCH', with args beginning with: "

    entries = log_entries(admin)  # newest first
    assert [(e["reason"], e["object"]) for e in entries] == [
        ("command", "acl|whoami"), ("command", "config|get"), ("command", "set"), ("key", "other")]
    set_entry, key_entry = entries[2], entries[3]
    assert set_entry["count"] == 2  # SET cache:x and SET other: same reason, context, object, user
    assert key_entry == {**key_entry, "count": 1, "reason": "key", "context": "toplevel", "object": "other",
                         "username": "alice"}
    assert 0 <= float(key_entry["age-seconds"]) < 60
    info = key_entry["client-info"]
    assert info.startswith("id=") and " user=alice " in info and " cmd=get " in info

    assert c.call("MGET", "cache:1", "other").text == NOPERM_KEY
    # A repeated entry is counted, and moves to the front.
    assert [(e["object"], e["count"]) for e in log_entries(admin)] == [
        ("other", 2), ("acl|whoami", 1), ("config|get", 1), ("set", 2)]
    assert [e["object"] for e in log_entries(admin, "1")] == ["other"]
    assert log_entries(admin, "0") == []
    assert admin.call("ACL", "LOG", "x").text == "ERR value is not an integer or out of range"
    assert admin.call("ACL", "LOG", "RESET") == b"OK"
    assert log_entries(admin) == []
    assert admin.call("ACL", "LOG", "a", "b").text == \
        "ERR unknown subcommand or wrong number of arguments for 'LOG'. Try ACL HELP."


def test_acl_log_resp3(acl_server, admin, login):
    setuser(admin, "alice", "on", ">pw")
    login("alice").call("GET", "k")
    with acl_server.raw() as c3:
        c3.call("HELLO", "3")
        wire = c3.call_wire("ACL", "LOG")
        assert wire.startswith(b"*1\r\n%7\r\n$5\r\ncount\r\n:1\r\n$6\r\nreason\r\n$7\r\ncommand\r\n"
                               b"$7\r\ncontext\r\n$8\r\ntoplevel\r\n$6\r\nobject\r\n$3\r\nget\r\n"
                               b"$8\r\nusername\r\n$5\r\nalice\r\n$11\r\nage-seconds\r\n,")
        assert b"$11\r\nclient-info\r\n$" in wire


# --- key patterns, channels, MULTI, DRYRUN, subcommands --------------------------------------------

def test_read_and_write_key_patterns(admin, login):
    setuser(admin, "rw", "on", ">pw", "%R~r:*", "%W~w:*", "+@all")
    c = login("rw")
    assert c.call("GET", "r:1") is None
    assert c.call("SET", "r:1", "v").text == NOPERM_KEY
    assert c.call("SET", "w:1", "v") == b"OK"
    assert c.call("GET", "w:1").text == NOPERM_KEY
    assert c.call("SET", "w:1", "v", "GET").text == NOPERM_KEY  # GET makes SET read its key
    # Each key spec's flags decide: ACCESS needs read, INSERT/DELETE/UPDATE write, neither
    # (EXISTS, TYPE) any pattern.
    refused = "This user has no permissions to access the '{}' key"
    for args, reply in [
        (["append", "w:1", "x"], "OK"),
        (["incr", "w:1"], refused.format("w:1")),
        (["del", "w:1"], "OK"),
        (["del", "r:1"], refused.format("r:1")),
        (["exists", "w:1"], "OK"),
        (["exists", "x"], refused.format("x")),
        (["type", "r:1"], "OK"),
        (["lmove", "r:1", "w:1", "left", "right"], refused.format("r:1")),  # source reads and writes
        (["lmove", "w:1", "w:2", "left", "right"], refused.format("w:1")),
        (["copy", "r:1", "w:1"], "OK"),
        (["copy", "r:1", "r:2"], refused.format("r:2")),
        (["rename", "r:1", "w:1"], refused.format("r:1")),
        (["sort", "r:1", "store", "w:1"], "OK"),
        (["zunionstore", "w:1", "1", "r:1"], "OK"),
    ]:
        assert dryrun(admin, "rw", *args) == reply, args


def test_channel_patterns(admin, login):
    setuser(admin, "ch", "on", ">pw", "~*", "+@all", "resetchannels", "&news:*")
    c = login("ch")
    assert c.call("PUBLISH", "news:1", "m") == 0
    assert c.call("PUBLISH", "other", "m").text == NOPERM_CHANNEL
    # PSUBSCRIBE needs a channel rule equal to the pattern itself.
    assert c.call("PSUBSCRIBE", "*").text == NOPERM_CHANNEL
    assert c.call("SUBSCRIBE", "news:1", "other").text == NOPERM_CHANNEL
    assert c.call("SUBSCRIBE", "news:1") == [b"subscribe", b"news:1", 1]
    assert c.call("PSUBSCRIBE", "news:*") == [b"psubscribe", b"news:*", 2]
    assert c.call("PSUBSCRIBE", "news:1*").text == NOPERM_CHANNEL
    refused = "This user has no permissions to access the '{}' channel"
    for args, reply in [(["subscribe", "news:2"], "OK"), (["ssubscribe", "other"], refused.format("other")),
                        (["psubscribe", "news:?"], refused.format("news:?")), (["spublish", "news:x", "m"], "OK")]:
        assert dryrun(admin, "ch", *args) == reply, args
    assert [(e["reason"], e["object"], e["count"]) for e in log_entries(admin)] == [
        ("channel", "news:1*", 1), ("channel", "other", 2), ("channel", "*", 1)]
    # Losing the channels it listens to disconnects a subscriber.
    setuser(admin, "ch", "resetchannels", "&else")
    c.assert_closed()


def test_denied_inside_multi(admin, login):
    setuser(admin, "m", "on", ">pw", "~cache:*", "+@read", "+multi", "+exec", "+discard")
    c = login("m")
    assert c.call("MULTI") == b"OK"
    assert c.call("GET", "cache:1") == b"QUEUED"
    assert c.call("SET", "cache:1", "v").text == noperm_command("set")
    assert c.call("GET", "other").text == NOPERM_KEY
    assert c.call("EXEC").text == "EXECABORT Transaction discarded because of previous errors."
    assert [(e["reason"], e["context"], e["object"]) for e in log_entries(admin)] == [
        ("key", "multi", "other"), ("command", "multi", "set")]
    # Rules changed after queueing: EXEC refuses the command no longer allowed.
    admin.call("ACL", "LOG", "RESET")
    assert c.call("MULTI") == b"OK"
    assert c.call("GET", "cache:1") == b"QUEUED"
    assert c.call("GET", "cache:2") == b"QUEUED"
    setuser(admin, "m", "resetkeys", "~cache:1")
    assert [text(r) for r in c.call("EXEC")] == [None, (
        "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. "
        "This command is no longer allowed for the following reason: no permission to touch the specified keys")]
    assert [(e["reason"], e["context"], e["object"]) for e in log_entries(admin)] == [("key", "multi", "cache:2")]


def test_dryrun(admin):
    setuser(admin, "carol", "on", "nopass", "~cache:*", "+@read")
    assert dryrun(admin, "carol", "get", "cache:1") == "OK"
    assert dryrun(admin, "carol", "get", "x") == "This user has no permissions to access the 'x' key"
    assert dryrun(admin, "carol", "set", "cache:1", "v") == "This user has no permissions to run the 'set' command"
    assert dryrun(admin, "carol", "config", "get", "x") == \
        "This user has no permissions to run the 'config|get' command"
    assert dryrun(admin, "carol", "publish", "c", "m") == "This user has no permissions to run the 'publish' command"
    assert dryrun(admin, "nosuch", "get", "x") == "ERR User 'nosuch' not found"
    assert dryrun(admin, "carol", "nosuchcmd") == "ERR Command 'nosuchcmd' not found"
    assert dryrun(admin, "carol", "config", "nosuch") == "ERR Command 'config' not found"
    assert dryrun(admin, "carol", "get") == "ERR wrong number of arguments for 'get' command"
    assert dryrun(admin, "carol", "get", "a", "b") == "ERR wrong number of arguments for 'get' command"
    assert text(admin.call("ACL", "DRYRUN", "carol")) == "ERR wrong number of arguments for 'acl|dryrun' command"
    assert log_entries(admin) == []  # DRYRUN logs nothing


def test_subcommand_and_first_arg_rules(admin, login):
    setuser(admin, "s", "on", ">pw", "~*", "-@all", "+config|get", "+select|0")
    c = login("s")
    assert c.call("CONFIG", "GET", "maxmemory") == [b"maxmemory", b"0"]
    assert c.call("CONFIG", "SET", "maxmemory", "0").text == noperm_command("config|set")
    assert c.call("CONFIG", "HELP").text == noperm_command("config|help")
    assert c.call("SELECT", "0") == b"OK"
    assert c.call("SELECT", "1").text == noperm_command("select")
    assert c.call("SELECT", "00").text == noperm_command("select")  # first args match as text
    assert c.call("GET", "k").text == noperm_command("get")
    setuser(admin, "s", "+config", "-config|get", "-select", "+select|1")
    assert canonical(text(admin.call("ACL", "GETUSER", "s")[5])) == canonical("-@all +config -config|get +select|1")
    assert c.call("CONFIG", "GET", "maxmemory").text == noperm_command("config|get")
    assert c.call("CONFIG", "SET", "maxmemory", "0") == b"OK"
    assert c.call("SELECT", "1") == b"OK"


# --- config file, aclfile ------------------------------------------------------------------------

ACLFILE_NOT_CONFIGURED = (
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the "
    "ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) "
    "in order to store users in the Redis configuration.")


def test_user_lines_in_config_file(make_server, tmp_path):
    conf = tmp_path / "users.conf"
    conf.write_text("user bob on >pw ~* +@all\nuser alice on nopass ~a:* -@all +get\n")
    srv = make_server(["--include", str(conf)])
    with srv.raw() as c:
        assert acl_list(c) == ["user alice on nopass ~a:* resetchannels -@all +get",
                               f"user bob on #{sha('pw')} ~* resetchannels +@all", DEFAULT_LINE]
        assert c.call("AUTH", "bob", "pw") == b"OK"
        assert c.call("SET", "k", "v") == b"OK"
        assert c.call("ACL", "SAVE").text == ACLFILE_NOT_CONFIGURED
        assert c.call("ACL", "LOAD").text == ACLFILE_NOT_CONFIGURED


def test_aclfile_load_and_save(make_server, tmp_path):
    path = tmp_path / "users.acl"
    path.write_text(f"user default on nopass ~* &* +@all\nuser carol on #{sha('pw')} ~k:* &ch:* -@all +get\n")
    srv = make_server(["--aclfile", str(path)])
    with srv.raw() as c:
        assert acl_list(c) == [f"user carol on #{sha('pw')} ~k:* resetchannels &ch:* -@all +get", DEFAULT_LINE]
        setuser(c, "dave", "on", ">x", "%R~r:*", "(+set ~w:*)", "+select|0", "+@hash")
        setuser(c, "bob", "on", ">pw", "~*", "&*", "+@all")
        assert c.call("ACL", "SAVE") == b"OK"
        # ACL LIST's lines, sorted by name, each ended by a newline.
        assert path.read_text() == (
            f"user bob on #{sha('pw')} ~* &* +@all\n"
            f"user carol on #{sha('pw')} ~k:* resetchannels &ch:* -@all +get\n"
            f"user dave on #{sha('x')} %R~r:* resetchannels -@all +@hash +select|0 (~w:* resetchannels -@all +set)\n"
            f"{DEFAULT_LINE}\n")
        # LOAD replaces every user; a default user missing from the file is recreated as at start-up.
        path.write_text("user eve on nopass\n")
        assert c.call("ACL", "LOAD") == b"OK"
        assert acl_list(c) == [DEFAULT_LINE, "user eve on nopass resetchannels -@all"]
        # Any error leaves the rules as they were.
        warning = "WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
        for content, error in [
            ("user x on\nbogus line\n", f"ERR {path}:2 should start with user keyword followed by the username. {warning}"),
            ("user x +nosuch\n", f"ERR {path}:1: Error in applying operation '+nosuch': {UNKNOWN}. {warning}"),
            ("user x on\nuser x off\n", f"ERR WARNING: Duplicate user 'x' found on line 2. {warning}"),
        ]:
            path.write_text(content)
            assert text(c.call("ACL", "LOAD")) == error
            assert acl_list(c) == [DEFAULT_LINE, "user eve on nopass resetchannels -@all"]


def start_expecting_failure(tmp_path, args):
    """Run the server with args; it must exit non-zero within 10 s. Returns its output."""
    proc = subprocess.run([server_binary(), "--port", str(free_port()), "--bind", "127.0.0.1", "--save", "",
                           "--dir", str(tmp_path), *args],
                          capture_output=True, timeout=10, cwd=tmp_path)
    assert proc.returncode != 0
    return (proc.stdout + proc.stderr).decode(errors="replace")


def test_user_lines_and_aclfile_refused_together(tmp_path):
    conf = tmp_path / "users.conf"
    conf.write_text("user bob on >pw ~* +@all\n")
    acl = tmp_path / "users.acl"
    acl.write_text("")
    log = start_expecting_failure(tmp_path, ["--include", str(conf), "--aclfile", str(acl)])
    assert ("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path "
            "is invalid.") in log
    log = start_expecting_failure(tmp_path, ["--aclfile", str(tmp_path / "missing.acl")])
    assert f"opening file '{tmp_path / 'missing.acl'}': No such file or directory" in log


# --- clients -------------------------------------------------------------------------------------

def client_users(c):
    return [dict(f.split("=", 1) for f in line.split())["user"]
            for line in c.call("CLIENT", "LIST").decode().splitlines()]


def test_client_list_and_kill_user(admin, login):
    setuser(admin, "alice", "on", ">pw", "+@all", "~*")
    setuser(admin, "idle", "on", ">pw")
    a1, a2 = login("alice"), login("alice")
    # (Connections closed by earlier tests may take a moment to leave the list.)
    assert wait_until(lambda: sorted(client_users(admin)) == ["alice", "alice", "default"]), client_users(admin)
    assert "user=alice" in a1.call("CLIENT", "INFO").decode().split()
    assert admin.call("CLIENT", "KILL", "USER", "alice") == 2
    a1.assert_closed()
    a2.assert_closed()
    assert admin.call("CLIENT", "KILL", "USER", "idle") == 0
    assert admin.call("CLIENT", "KILL", "USER", "nosuch").text == "ERR No such user 'nosuch'"
    # A disabled user's connections stay; a deleted user's are closed.
    a3 = login("alice")
    setuser(admin, "alice", "off")
    assert a3.call("PING") == b"PONG"
    assert admin.call("ACL", "DELUSER", "alice") == 1
    a3.assert_closed()
    assert client_users(admin) == ["default"]


# --- the same answers as redis-server ------------------------------------------------------------

RULE_SETS = {
    "reader": ["on", "nopass", "~cache:*", "+@read"],
    "split": ["on", "nopass", "%R~r:*", "%W~w:*", "+@all"],
    "pubsub": ["on", "nopass", "~*", "resetchannels", "&news:*", "-@all", "+@pubsub", "+get"],
    "safe": ["on", "nopass", "~*", "&*", "+@all", "-@dangerous"],
    "narrow": ["on", "nopass", "~k*", "-@all", "+config|get", "+select|0", "+client", "-client|kill"],
    "selector": ["on", "nopass", "~r:*", "+get", "(~w:* +set +del)"],
}
COMMANDS = [
    ["get", "r:1"], ["get", "cache:1"], ["get", "other"], ["set", "r:1", "v"], ["set", "w:1", "v"],
    ["set", "w:1", "v", "GET"], ["mget", "cache:1", "other"], ["append", "w:1", "x"], ["incr", "w:1"],
    ["del", "w:1"], ["exists", "w:1"], ["type", "x"], ["lmove", "r:1", "w:1", "left", "right"],
    ["copy", "r:1", "w:1"], ["rename", "w:1", "w:2"], ["sort", "r:1"], ["sort", "r:1", "store", "w:1"],
    ["hset", "w:1", "f", "v"], ["hget", "r:1", "f"], ["zadd", "w:1", "1", "m"], ["sadd", "cache:1", "m"],
    ["publish", "news:1", "m"], ["publish", "other", "m"], ["subscribe", "news:1"], ["psubscribe", "news:*"],
    ["psubscribe", "*"], ["config", "get", "port"], ["config", "set", "maxmemory", "0"], ["select", "0"],
    ["select", "1"], ["flushall"], ["keys", "*"], ["info"], ["ping"], ["client", "list"], ["client", "kill",
    "id", "1"], ["acl", "whoami"], ["debug", "sleep", "0"], ["get"],
]


def command_names(c):
    return {name.decode() for name in c.call("COMMAND", "LIST")}


def test_dryrun_matches_redis(admin, reference):
    if reference is None:
        pytest.skip("the server under test is redis-server (or there is none to compare with)")
    with reference.raw() as ref:
        reset_acl(ref)
        known = command_names(admin)
        differences = []
        for user, rules in RULE_SETS.items():
            setuser(admin, user, *rules)
            setuser(ref, user, *rules)
            for args in COMMANDS:
                if args[0] not in known:
                    continue
                ours, theirs = dryrun(admin, user, *args), dryrun(ref, user, *args)
                if ours != theirs:
                    differences.append((user, " ".join(args), ours, theirs))
        assert not differences, "\n".join(map(repr, differences))


def test_acl_cat_matches_redis(admin, reference):
    if reference is None:
        pytest.skip("the server under test is redis-server (or there is none to compare with)")
    with reference.raw() as ref:
        known = command_names(admin) & command_names(ref)
        assert admin.call("ACL", "CAT") == ref.call("ACL", "CAT")
        for category in ALL_CATEGORIES:
            ours = {n.decode() for n in admin.call("ACL", "CAT", category)} & known
            theirs = {n.decode() for n in ref.call("ACL", "CAT", category)} & known
            assert ours == theirs, (category, sorted(ours - theirs), sorted(theirs - ours))
