"""Each rule: code it must flag, and near misses it must not (inside a step, helpers, shadowed names, aliases)."""

from __future__ import annotations

import ast

import pytest

from stepstone.lint import history
from stepstone.lint.rules import RULES
from stepstone.lint.scope import Module
from tests.unit.lint.helpers import PRELUDE, codes, in_function


@pytest.mark.parametrize("code", sorted(set(RULES) - {"STP028"}))
def test_each_rules_wrong_example_is_flagged_and_its_right_one_is_clean(code: str) -> None:
    rule = RULES[code]
    assert code in codes(rule.wrong), rule.wrong
    defaults = {other for other, candidate in RULES.items() if candidate.default}
    assert [found for found in codes(rule.right) if found in defaults | {code}] == [], rule.right


def test_step_ids_changed_examples() -> None:
    rule = RULES["STP028"]
    released = rule.wrong.replace("'charge'", "'charge-card'")
    changed = history.compare(PRELUDE + released, Module(ast.parse(PRELUDE + rule.wrong)), "t.py", "v1")
    assert [finding.code for finding in changed] == ["STP028"]
    assert history.compare(PRELUDE + released, Module(ast.parse(PRELUDE + rule.right)), "t.py", "v1") == []


FLAGGED = [
    ("STP001", "now = datetime.now()"),
    ("STP001", "now = datetime_module.datetime.utcnow()"),
    ("STP001", "today = datetime_module.date.today()"),
    ("STP001", "started = time.monotonic()"),
    ("STP001", "import time as t\nx = t.time()"),
    ("STP001", "from datetime import datetime as dt\nx = dt.now()"),
    ("STP001", "if time.time() > 5:\n    await ctx.step.run('a', lambda: 1)"),
    ("STP002", "n = random.randint(1, 6)"),
    ("STP002", "token = uuid.uuid4().hex"),
    ("STP002", "salt = os.urandom(8)"),
    ("STP002", "import secrets\ntoken = secrets.token_hex()"),
    ("STP003", "page = httpx.get('https://example.com')"),
    ("STP003", "async with httpx.AsyncClient() as http:\n    await http.get('https://example.com')"),
    ("STP003", "import requests\nrequests.post('https://example.com')"),
    ("STP003", "import urllib.request\nurllib.request.urlopen('https://example.com')"),
    ("STP004", "import sqlite3\nconn = sqlite3.connect('db')"),
    ("STP004", "rows = cursor.execute('select 1')"),
    ("STP004", "db.session.commit()"),
    ("STP004", "orders = Order.objects.filter(paid=True)"),
    ("STP005", "text = open('a.txt').read()"),
    ("STP005", "Path('a.txt').write_text('x')"),
    ("STP005", "os.remove('a.txt')"),
    ("STP005", "import shutil\nshutil.rmtree('build')"),
    ("STP006", "time.sleep(1)"),
    ("STP006", "await asyncio.sleep(1)"),
    ("STP007", "subprocess.run(['ls'])"),
    ("STP007", "import threading\nthreading.Thread(target=print).start()"),
    ("STP007", "await asyncio.to_thread(print)"),
    ("STP007", "loop = asyncio.get_running_loop()\nawait loop.run_in_executor(None, print)"),
    ("STP007", "from concurrent.futures import ThreadPoolExecutor\nThreadPoolExecutor()"),
    ("STP008", "ctx.step.run('a', lambda: 1)"),
    ("STP008", "step = ctx.step\nstep.sleep('nap', '1s')"),
    ("STP008", "ctx.step.send_event('s', stepstone.Event(name='x'))"),
    ("STP008", "ctx.step.wait_for_signal('ok', signal='approve', timeout='1h')"),
    ("STP008", "ctx.step.fetch('rate', 'https://rates.example.com/eur-usd')"),
    ("STP009", "asyncio.create_task(asyncio.sleep(0))"),
    ("STP009", "async def h() -> None:\n    asyncio.ensure_future(asyncio.sleep(0))\nawait ctx.step.run('a', h)"),
    ("STP010", "client.send(stepstone.Event(name='x'))"),
    ("STP010", "async def h() -> None:\n    client.send(stepstone.Event(name='x'))\nawait ctx.step.run('a', h)"),
    ("STP011", "await client.send(stepstone.Event(name='x'))"),
    ("STP011", "await client.send_signal('approve', {'ok': True})"),
    ("STP010", "client.send_signal('approve')"),
    ("STP012", "await ctx.step.run('a', lambda: ctx.step.run('b', lambda: 1))"),
    ("STP012", "async def h() -> None:\n    await ctx.step.sleep('nap', '1s')\nawait ctx.step.run('a', h)"),
    ("STP014", "try:\n    await ctx.step.run('a', lambda: 1)\nexcept:\n    pass"),
    ("STP014", "try:\n    await ctx.step.run('a', lambda: 1)\nexcept (ValueError, BaseException):\n    pass"),
    ("STP014", "with contextlib.suppress(BaseException):\n    await ctx.step.run('a', lambda: 1)"),
    ("STP016", "await ctx.step.run(f'a-{time.time()}', lambda: 1)"),
    ("STP016", "await ctx.step.run('a-' + str(uuid.uuid4()), lambda: 1)"),
    ("STP016", "await ctx.step.run(f'a-{id(ctx)}', lambda: 1)"),
    ("STP016", "await ctx.step.sleep(step_id=f'nap-{random.random()}', duration='1s')"),
    ("STP019", "async def fetch() -> int:\n    return 1\nawait ctx.step.run('a', await fetch())"),
    ("STP019", "def fetch() -> int:\n    return 1\nawait ctx.step.run('a', fetch())"),
    ("STP023", "print('hello')"),
    ("STP023", "logging.info('hello')"),
    ("STP023", "log.warning('hello')"),
    ("STP013", "seen = []\nawait ctx.step.run('a', lambda: seen.append(1))"),
    ("STP013", "state = {}\ndef h() -> None:\n    state['done'] = True\nawait ctx.step.run('a', h)"),
    ("STP013", "count = 0\ndef h() -> None:\n    nonlocal count\n    count += 1\nawait ctx.step.run('a', h)"),
    ("STP013", "class Box:\n    n = 0\nbox = Box()\ndef h() -> None:\n    box.n = 1\nawait ctx.step.run('a', h)"),
    ("STP015", "await asyncio.wait([ctx.step.run('a', lambda: 1), ctx.step.run('b', lambda: 2)])"),
    (
        "STP015",
        "for done in asyncio.as_completed([ctx.step.run(f'a{n}', lambda: n) for n in range(3)]):\n    await done",
    ),
    ("STP017", "for sku in {'a', 'b'}:\n    await ctx.step.run(f'r-{sku}', lambda: 1)"),
    ("STP017", "skus = set(ctx.event.data['skus'])\nfor sku in skus:\n    await ctx.step.run(f'r-{sku}', lambda: 1)"),
    ("STP018", "await ctx.step.run('a', lambda: 1)\nawait ctx.step.sleep('a', '1s')"),
    ("STP018", "await ctx.step.run('a', lambda: 1)\nif ctx.event.data:\n    await ctx.step.run('a', lambda: 2)"),
    ("STP020", "def h() -> bytes:\n    return b''\nawait ctx.step.run('a', h)"),
    ("STP020", "def h() -> datetime:\n    return datetime.now()\nawait ctx.step.run('a', h)"),
    ("STP021", "while True:\n    await ctx.step.run('poll', lambda: 1)"),
    ("STP021", "for row in cursor.fetchall():\n    await ctx.step.run(f'r{row}', lambda: 1)"),
    ("STP022", "await ctx.step.run('rows', lambda: cursor.fetchall())"),
    ("STP022", "def h() -> str:\n    return httpx.get('https://example.com').text\nawait ctx.step.run('a', h)"),
    ("STP024", "if os.environ.get('X'):\n    await ctx.step.run('a', lambda: 1)"),
    ("STP024", "import platform\nx = 1 if platform.system() == 'Linux' else 2"),
    ("STP027", "await ctx.step.run('s', lambda: client.send(stepstone.Event(name='x')))"),
    (
        "STP027",
        "def h() -> None:\n    client.send_sync([stepstone.Event(name='x', id='a'), stepstone.Event(name='y')])\n"
        "await ctx.step.run('s', h)",
    ),
]


@pytest.mark.parametrize(("code", "body"), FLAGGED)
def test_flags(code: str, body: str) -> None:
    assert code in codes(in_function(body), code)


NOT_FLAGGED = [
    # the same calls inside a step handler: a lambda, an inner def, a module function by name
    ("STP001", "await ctx.step.run('now', lambda: datetime.now().isoformat())"),
    ("STP001", "def stamp() -> str:\n    return datetime.now().isoformat()\nawait ctx.step.run('now', stamp)"),
    ("STP002", "await ctx.step.run('id', lambda: str(uuid.uuid4()))"),
    ("STP003", "await ctx.step.run('get', lambda: httpx.get('https://example.com').text)"),
    ("STP004", "await ctx.step.run('q', lambda: cursor.execute('select 1').fetchall())"),
    ("STP005", "await ctx.step.run('read', lambda: Path('a.txt').read_text())"),
    ("STP006", "async def h() -> None:\n    await asyncio.sleep(1)\nawait ctx.step.run('a', h)"),
    ("STP007", "await ctx.step.run('ls', lambda: subprocess.run(['ls']).returncode)"),
    ("STP011", "async def h() -> None:\n    await client.send(stepstone.Event(name='x'))\nawait ctx.step.run('a', h)"),
    ("STP023", "await ctx.step.run('p', lambda: print('once'))"),
    # a helper that is not a handler is not followed
    ("STP001", "def helper() -> float:\n    return time.time()"),
    ("STP012", "async def helper() -> None:\n    await ctx.step.run('b', lambda: 1)\nawait helper()"),
    # shadowed names
    ("STP001", "time = ctx.event.data\nx = time.time()"),
    ("STP001", "def work(datetime: object) -> None:\n    datetime.now()\nawait ctx.step.run('a', work, 1)"),
    ("STP005", "open = ctx.event.data.get\nx = open('a')"),
    ("STP011", "client = object()\nclient.send(1)"),
    ("STP023", "log = ctx.logger\nlog.info('x')"),
    # near misses of each rule
    ("STP001", "stamp = datetime.fromisoformat(ctx.event.data['at'])"),
    ("STP002", "rng = random.Random(42)"),
    ("STP003", "timeout = httpx.Timeout(5)"),
    ("STP004", "rows = payload.execute"),
    ("STP004", "answer = await ctx.step.fetch('rate', 'https://rates.example.com/eur-usd')"),
    ("STP004", "ctx.logger.info('query')"),
    ("STP006", "await ctx.step.sleep('nap', timedelta(seconds=1))"),
    ("STP008", "await ctx.step.run('a', lambda: 1)"),
    ("STP008", "result = await ctx.group.parallel((lambda: ctx.step.run('a', lambda: 1),))"),
    ("STP009", "task = asyncio.create_task(asyncio.sleep(0))\nawait task"),
    ("STP010", "await ctx.step.run('s', lambda: client.send(stepstone.Event(name='x')))"),
    ("STP011", "await ctx.step.run('s', client.send_signal, 'approve', {'ok': True})"),
    ("STP014", "try:\n    await ctx.step.run('a', lambda: 1)\nexcept Exception:\n    pass"),
    ("STP014", "try:\n    await ctx.step.run('a', lambda: 1)\nexcept BaseException:\n    raise"),
    ("STP014", "try:\n    x = 1\nexcept:\n    pass"),
    ("STP016", "for n in range(3):\n    await ctx.step.run(f'a-{n}', lambda: 1)"),
    ("STP016", "await ctx.step.run(f\"a-{ctx.event.data['id']}\", lambda: 1)"),
    ("STP019", "import functools\nawait ctx.step.run('a', functools.partial(print, 1))"),
    ("STP019", "def make():\n    return lambda: 1\nawait ctx.step.run('a', make())"),
    ("STP023", "ctx.logger.info('hello')"),
    ("STP013", "def h() -> list[int]:\n    seen = []\n    seen.append(1)\n    return seen\nawait ctx.step.run('a', h)"),
    ("STP013", "seen = []\nseen.append(await ctx.step.run('a', lambda: 1))"),
    ("STP013", "def helper() -> None:\n    state['x'] = 1"),
    ("STP013", "def h() -> None:\n    os.environ.update({})\nawait ctx.step.run('a', h)"),
    ("STP015", "await asyncio.gather(ctx.step.run('a', lambda: 1), ctx.step.run('b', lambda: 2))"),
    ("STP015", "await asyncio.wait([asyncio.sleep(0)])"),
    ("STP017", "for sku in sorted({'a', 'b'}):\n    await ctx.step.run(f'r-{sku}', lambda: 1)"),
    ("STP017", "for sku in {'a', 'b'}:\n    print(sku)"),
    ("STP018", "for n in range(3):\n    await ctx.step.run('a', lambda: n)"),
    (
        "STP018",
        "if ctx.event.data:\n    await ctx.step.run('a', lambda: 1)\nelse:\n    await ctx.step.run('a', lambda: 2)",
    ),
    ("STP018", "await ctx.step.run('a', lambda: 1)\nawait ctx.step.run('b', lambda: 1)"),
    ("STP020", "def h() -> list[str]:\n    return []\nawait ctx.step.run('a', h)"),
    ("STP020", "def h() -> set[str]:\n    return set()\nawait ctx.step.run('a', h, output_type=set[str])"),
    ("STP020", "def helper() -> bytes:\n    return b''"),
    ("STP021", "while ctx.event.data.get('more'):\n    break\nawait ctx.step.run('a', lambda: 1)"),
    ("STP021", "for n in range(10):\n    await ctx.step.run(f'a{n}', lambda: n)"),
    ("STP022", "await ctx.step.run('rows', lambda: len(cursor.fetchall()))"),
    ("STP024", "if ctx.event.data.get('x'):\n    await ctx.step.run('a', lambda: 1)"),
    ("STP024", "flag = await ctx.step.run('f', lambda: os.environ.get('X'))\nif flag:\n    pass"),
    ("STP027", "await ctx.step.run('s', lambda: client.send(stepstone.Event(name='x', id='order-1')))"),
    ("STP027", "await ctx.step.send_event('s', stepstone.Event(name='x'))"),
]


@pytest.mark.parametrize(("code", "body"), NOT_FLAGGED)
def test_does_not_flag(code: str, body: str) -> None:
    assert codes(in_function(body), code) == []


def test_sync_functions() -> None:
    assert codes(in_function("ctx.step.run('a', lambda: 1)", sync=True)) == []  # sync steps return values
    assert codes(in_function("client.send_sync(stepstone.Event(name='x'))", sync=True)) == ["STP011"]
    assert codes(in_function("time.sleep(1)", sync=True)) == ["STP006"]


def test_sync_async_mismatch() -> None:
    wrong_sync = in_function("ctx.step.run('a', lambda: 1)", sync=True).replace("ContextSync", "Context")
    wrong_async = in_function("await ctx.step.run('a', lambda: 1)").replace("Context", "ContextSync")
    assert codes(wrong_sync) == ["STP026"]
    assert codes(wrong_async) == ["STP026"]
    assert codes(in_function("ctx.step.run('a', lambda: 1)", sync=True)) == []


def test_prelude_alone_is_clean() -> None:
    assert codes("") == [] and "client" in PRELUDE


def test_a_registered_function_called_from_a_step() -> None:
    child = "async def child(ctx: stepstone.Context) -> None:\n    return None\n"
    header = f'@client.create_function(fn_id="child", trigger=[])\n{child}'
    assert codes(in_function("await ctx.step.run('c', lambda: child(ctx))", header=header), "STP025") == ["STP025"]
    assert codes(in_function("await ctx.step.invoke('c', function=child)", header=header), "STP025") == []
    plain = in_function("await ctx.step.run('c', lambda: child(ctx))", header=child)  # not registered
    assert codes(plain, "STP025") == []


def test_official_sdk_gathers_steps_only_through_group_parallel() -> None:
    gather = "await asyncio.gather(ctx.step.run('a', lambda: 1), ctx.step.run('b', lambda: 2))"
    official = in_function(gather, header="import inngest")
    assert codes(official, "STP015") == ["STP015"]
    assert codes(in_function(gather), "STP015") == []


def test_an_unawaited_send_anywhere_in_the_file() -> None:
    route = "async def route() -> None:\n    client.send(stepstone.Event(name='x'))\n"
    assert codes(route) == ["STP010"]
    assert codes(route.replace("client.send", "await client.send")) == []
    assert codes(route.replace("async def", "def")) == []  # a sync def cannot await: not this rule
    other = "other = stepstone.Stepstone(app_id='b')\nasync def route() -> None:\n    other.send(1)\n"
    assert codes(other) == ["STP010"]  # a client that defines no function is still a client
    assert codes("async def route(client: object) -> None:\n    mailer.send(1)\n") == []


def test_handlers_defined_in_an_app_factory() -> None:
    factory = """
    def build(client: stepstone.Stepstone) -> None:
        def fetch() -> float:
            return time.time()

        @client.create_function(fn_id="f", trigger=[])
        async def f(ctx: stepstone.Context) -> None:
            await ctx.step.run("fetch", fetch)

        def nested() -> None:
            ctx.step.run("x", lambda: 1)
    """
    assert codes(factory) == []
    assert codes(factory.replace("return time.time()", "return ctx.step.run('n', lambda: 1)")) == ["STP012"]


def test_defaults_and_decorators_of_inner_defs_run_in_the_body() -> None:
    assert codes(in_function("await ctx.step.run('a', lambda at=time.time(): at)")) == ["STP001"]
    assert codes(in_function("def helper(at: float = time.time()) -> float:\n    return at")) == ["STP001"]
    assert codes(in_function("@functools.cache\ndef helper() -> float:\n    return time.time()")) == []
