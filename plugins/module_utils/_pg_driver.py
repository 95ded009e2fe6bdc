# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PostgreSQL client library: psycopg (psycopg 3) when installed, else psycopg2.

community.postgresql does the same. Debian 12+ and Ubuntu 24.04 package psycopg 3 (``python3-psycopg``);
Ubuntu 22.04 has only psycopg2 (``python3-psycopg2``). The pgvector module uses the small common part of
both: ``connect(**libpq_keywords)``, ``with conn.cursor() as cur``, ``cur.execute(sql, params)`` with ``%s``
placeholders, ``fetchone``/``fetchall``, ``commit``/``rollback``/``close`` and the ``Error`` base class.
(``with conn:`` differs between them, closing the connection only in psycopg 3: close it explicitly.)
"""

from __future__ import annotations

import importlib
import traceback
from dataclasses import dataclass

DRIVER_NAMES = ("psycopg", "psycopg2")
REQUIREMENT = "psycopg (psycopg 3) or psycopg2"
INSTALL_HINT = (
    "install python3-psycopg (Debian 12+, Ubuntu 24.04) or python3-psycopg2 (Ubuntu 22.04), "
    "or pip install psycopg[binary]"
)


class _NoDriverError(Exception):
    """Stands in for the driver's Error class when no driver is installed."""


@dataclass
class Driver:
    name: str
    module: object

    @property
    def version(self) -> str:
        return str(getattr(self.module, "__version__", "unknown")).split(" ", 1)[0]

    @property
    def Error(self):  # the DB-API name
        return self.module.Error

    def connect(self, **keywords):
        """A connection from libpq keywords (host, port, user, password, dbname, sslmode, ...); None values
        are left out, so libpq's defaults apply."""
        return self.module.connect(**{key: value for key, value in keywords.items() if value is not None})


def load_driver(names=DRIVER_NAMES):
    """``(driver, import_error)``: the first of ``names`` that imports, else ``(None, traceback text)``."""
    errors = []
    for name in names:
        try:
            return Driver(name, importlib.import_module(name)), None
        except ImportError:
            errors.append(traceback.format_exc())
    return None, "\n".join(errors)
