"""Where the agent keeps its files, and its configuration (hub address, school code, the school's secret).

The home folder is ``--home``, else ``HOUQIN_AGENT_HOME``, else ``%LOCALAPPDATA%\\Houqin\\agent`` on Windows
and ``$XDG_DATA_HOME/houqin-agent`` (``~/.local/share/houqin-agent``) elsewhere. It holds ``config.json``
(0600), ``outbox.sqlite3`` and ``sync.lock``. The secret is written once by ``setup`` and never printed again.
``config.json`` also holds ``hub_keys``: the hub's receipt-signing public keys the agent pinned (``trust.py``).
On Windows, 0600 is not expressible with ``chmod``: the file lives in the user's own profile folder, which
only that user (and administrators) can read.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CONFIG_NAME = "config.json"
OUTBOX_NAME = "outbox.sqlite3"
LOCK_NAME = "sync.lock"
ENV_HOME = "HOUQIN_AGENT_HOME"

SCHOOL_CODE_RE = re.compile(r"[0-9]{10}", re.ASCII)


class ConfigError(Exception):
    """Missing or unusable configuration; ``str(exc)`` is the Chinese sentence to show."""


def default_home() -> Path:
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env)
    if os.name == "nt":  # pragma: no cover - Windows
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "Houqin" / "agent"
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "houqin-agent"


def ensure_home(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    if os.name != "nt":
        try:
            home.chmod(0o700)
        except OSError:
            pass
    return home


@dataclass
class AgentConfig:
    hub_url: str
    school_code: str
    secret: str = field(repr=False)
    school_name: str | None = None
    clerk: str | None = None
    hub_keys: list[dict[str, Any]] = field(default_factory=list)  # pinned hub public keys (trust.py)

    def public(self) -> dict[str, Any]:
        """What may be shown: everything but the secret."""
        return {
            "hub_url": self.hub_url,
            "school_code": self.school_code,
            "school_name": self.school_name,
            "clerk": self.clerk,
            "hub_key_ids": [k.get("key_id") for k in self.hub_keys],
        }


def normalise_hub_url(url: str) -> str:
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"服务器地址无效：{url!r}。应形如 https://houqin.example.gov.cn 或 http://10.0.0.5:8000")
    if parts.query or parts.fragment:
        raise ConfigError("服务器地址不能带 ? 或 # 部分")
    return url


def check_school_code(code: str) -> str:
    code = code.strip()
    if not SCHOOL_CODE_RE.fullmatch(code):
        raise ConfigError(f"学校标识码必须是 10 位数字：{code!r}")
    return code


def check_secret(secret: str) -> str:
    secret = secret.strip()
    if len(secret) < 32 or any(c.isspace() for c in secret):
        raise ConfigError("凭据无效：应为教育局发放的一串字符（至少 32 个字符，不含空格）")
    return secret


def read_credential_file(path: Path) -> tuple[str, str]:
    """(school_code, secret) from the JSON file ``houqin schools credential CODE -o FILE`` wrote."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"无法读取凭据文件 {path}：{exc.strerror or exc}") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ConfigError(f"凭据文件 {path.name} 格式不对：应为教育局导出的 JSON 文件") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("secret"), str)
        or not isinstance(data.get("school_code"), str)
    ):
        raise ConfigError(f"凭据文件 {path.name} 缺少 school_code 或 secret")
    return check_school_code(data["school_code"]), check_secret(data["secret"])


def load_config(home: Path) -> AgentConfig:
    path = home / CONFIG_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            "本机还没有配置：请先运行 houqin-agent setup（需要服务器地址、学校标识码和凭据文件）"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"配置文件 {path} 已损坏（{type(exc).__name__}），请重新运行 houqin-agent setup") from None
    try:
        return AgentConfig(
            hub_url=normalise_hub_url(str(data["hub_url"])),
            school_code=check_school_code(str(data["school_code"])),
            secret=check_secret(str(data["secret"])),
            school_name=data.get("school_name") or None,
            clerk=data.get("clerk") or None,
            hub_keys=_pins(data.get("hub_keys"), path),
        )
    except KeyError:
        raise ConfigError(f"配置文件 {path} 不完整，请重新运行 houqin-agent setup") from None


def _pins(value: Any, path: Path) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(k, dict) and isinstance(k.get("key_id"), str) and isinstance(k.get("public_key"), str) for k in value
    ):
        raise ConfigError(
            f"配置文件 {path} 中的教育局签名密钥（hub_keys）已损坏，请联系教育局后重新运行 houqin-agent setup"
        )
    return value


def save_pins(home: Path, pins: list[dict[str, Any]]) -> None:
    """Store a new pin list in ``config.json``, keeping everything else as it is on disk now."""
    cfg = load_config(home)
    cfg.hub_keys = pins
    save_config(home, cfg)


def save_config(home: Path, cfg: AgentConfig) -> Path:
    """Write ``config.json`` atomically with mode 0600 (created so, never widened by the umask)."""
    ensure_home(home)
    path = home / CONFIG_NAME
    # a temporary name of its own (mkstemp: O_EXCL, mode 0600), so two writers never share one
    fd, tmp_name = tempfile.mkstemp(prefix=CONFIG_NAME + ".", suffix=".tmp", dir=home)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(cfg), fh, ensure_ascii=False, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        if os.name != "nt":
            os.chmod(tmp, stat.S_IRUSR | stat.S_IWUSR)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def config_mode_ok(home: Path) -> bool:
    """False when config.json is readable by others (POSIX); always True on Windows."""
    if os.name == "nt":  # pragma: no cover
        return True
    try:
        mode = (home / CONFIG_NAME).stat().st_mode
    except OSError:
        return True
    return not mode & (stat.S_IRWXG | stat.S_IRWXO)
