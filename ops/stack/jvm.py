"""The JVM side of the stack: Java found and recent enough, jars installed, a `java` command line."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from schemas.settings import Settings

from .errors import StackError
from .templates import INFRA_DIR

MIN_JAVA = 17
LOG4J2_CONFIG = INFRA_DIR / "log4j2.properties"


def java_binary() -> str:
    """Path of `java` 17+, or StackError in one line."""
    java = shutil.which("java")
    if java is None:
        raise StackError(f"java not found: install a JDK {MIN_JAVA}+ (apt-get install -y openjdk-17-jdk-headless)")
    try:
        out = subprocess.run(
            [java, "-XshowSettings:properties", "-version"], capture_output=True, text=True, timeout=30
        ).stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StackError(f"java at {java} does not run: {exc}") from exc
    match = re.search(r"java\.specification\.version = (\d+)", out)
    if match is None or int(match.group(1)) < MIN_JAVA:
        found = match.group(1) if match else "unknown"
        raise StackError(f"java {found} at {java}: Kafka 4 needs Java {MIN_JAVA}+")
    return java


def jars_dir(settings: Settings) -> Path:
    return settings.cache_dir / "jars"


def kafka_classpath(settings: Settings) -> str:
    """The broker + Connect classpath (`.cache/jars/kafka/*`), or StackError if not installed."""
    jars = jars_dir(settings)
    if not (jars / ".installed-stamp").exists() or not any((jars / "kafka").glob("kafka_2.13-*.jar")):
        raise StackError(f"Kafka jars missing in {jars}: run `make jars`")
    return str(jars / "kafka" / "*")


def plugin_path(settings: Settings) -> Path:
    path = jars_dir(settings) / "plugins"
    if not any(path.glob("debezium-postgres/debezium-connector-postgres-*.jar")):
        raise StackError(f"Debezium jars missing in {path}: run `make jars`")
    return path


def java_command(settings: Settings, main_class: str, args: Sequence[str], *, heap: str = "512m") -> list[str]:
    """`java ... main_class args` on the Kafka classpath with the project's Log4j 2 config."""
    return [
        java_binary(),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={LOG4J2_CONFIG}",
        "-cp",
        kafka_classpath(settings),
        main_class,
        *args,
    ]
