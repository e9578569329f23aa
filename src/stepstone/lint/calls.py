"""The names the rules look for: clock, randomness, I/O, threads and the like, as dotted names after imports."""

from __future__ import annotations

CLOCK = frozenset(
    {
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        *(f"time.{name}" for name in ("time", "time_ns", "localtime", "gmtime", "ctime", "asctime")),
        *(f"time.{name}{ns}" for name in ("monotonic", "perf_counter", "process_time") for ns in ("", "_ns")),
    }
)
RANDOM_EXACT = frozenset({"uuid.uuid1", "uuid.uuid4", "uuid.uuid7", "os.urandom", "os.getrandom"})
RANDOM_PREFIXES = ("random.", "secrets.")
NETWORK_PREFIXES = (
    "requests.",
    "httpx.",
    "aiohttp.",
    "urllib.request.",
    "urllib3.",
    "http.client.",
    "socket.",
    "smtplib.",
    "ftplib.",
)
NETWORK_CLASSES = frozenset(
    {
        "Client",
        "AsyncClient",
        "Session",
        "ClientSession",
        "SMTP",
        "SMTP_SSL",
        "FTP",
        "HTTPConnection",
        "HTTPSConnection",
        "PoolManager",
        "Request",
    }
)
NOT_NETWORK = frozenset({"socket.gethostname", "socket.getfqdn", "socket.htons", "socket.ntohs", "socket.inet_aton"})
DB_CONNECT = frozenset(
    {
        "sqlite3.connect",
        "psycopg.connect",
        "psycopg.AsyncConnection.connect",
        "psycopg.Connection.connect",
        "psycopg2.connect",
        "asyncpg.connect",
        "asyncpg.create_pool",
        "pymysql.connect",
        "MySQLdb.connect",
        "aiosqlite.connect",
        "pymongo.MongoClient",
        "sqlalchemy.create_engine",
    }
)
DB_METHODS = frozenset(
    {
        "execute",
        "executemany",
        "executescript",
        "commit",
        "query",
        "fetchall",
        "fetchone",
        "fetchmany",
        "fetch",
        "fetchrow",
        "fetchval",
        "rollback",
        "scalars",
        "scalar",
    }
)
DB_RECEIVERS = ("cursor", "cur", "session", "conn", "connection", "con", "db", "database", "pool", "engine", "tx")
FILE_METHODS = frozenset({"read_text", "read_bytes", "write_text", "write_bytes", "unlink", "mkdir", "rmdir", "touch"})
FILE_EXACT = frozenset(
    {
        "open",
        "io.open",
        *(
            f"os.{name}"
            for name in (
                "remove",
                "unlink",
                "rename",
                "replace",
                "makedirs",
                "mkdir",
                "rmdir",
                "removedirs",
                "listdir",
                "scandir",
                "walk",
                "open",
                "stat",
                "chmod",
                "chown",
            )
        ),
        *(f"os.path.{name}" for name in ("exists", "isfile", "isdir", "getsize", "getmtime")),
    }
)
FILE_PREFIXES = ("shutil.", "tempfile.", "glob.")
SLEEPS = frozenset({"time.sleep", "asyncio.sleep", "trio.sleep", "anyio.sleep"})
THREADS_EXACT = frozenset(
    {
        "threading.Thread",
        "threading.Timer",
        "asyncio.to_thread",
        "os.system",
        "os.popen",
        "os.fork",
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
    }
)
THREADS_PREFIXES = ("multiprocessing.", "concurrent.futures.", "subprocess.")
TASKS = frozenset({"asyncio.create_task", "asyncio.ensure_future"})
LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})


def is_clock(name: str) -> bool:
    return name in CLOCK


def is_random(name: str) -> bool:
    if name in RANDOM_EXACT:
        return True
    return name.startswith(RANDOM_PREFIXES) and "()" not in name and name not in {"random.seed", "random.Random"}


def is_network(name: str) -> bool:
    if not name.startswith(NETWORK_PREFIXES) or name in NOT_NETWORK:
        return False
    last = name.rsplit(".", 1)[-1]
    return last in NETWORK_CLASSES or last[:1].islower()


def is_file(name: str) -> bool:
    return name in FILE_EXACT or name.startswith(FILE_PREFIXES)


def is_thread(name: str) -> bool:
    return name in THREADS_EXACT or name.startswith(THREADS_PREFIXES) or name.endswith(".run_in_executor")
