"""How the Python client programs report a decoded header value: [type, comparable value]."""
import datetime
import decimal

def describe(v):
    """A value as decoded by the client: [type, comparable value]."""
    if isinstance(v, bool):
        return ["bool", v]
    if isinstance(v, int):
        return ["int", v]
    if isinstance(v, float):
        return ["float", v]
    if isinstance(v, decimal.Decimal):
        return ["decimal", str(v)]
    if isinstance(v, datetime.datetime):
        return ["datetime", v.isoformat()]
    if isinstance(v, bytes):
        return ["bytes", v.hex()]
    if isinstance(v, str):
        return ["str", v]
    if isinstance(v, dict):
        return ["table", {k: describe(x) for k, x in sorted(v.items())}]
    if isinstance(v, list):
        return ["array", [describe(x) for x in v]]
    if v is None:
        return ["void", None]
    return [type(v).__name__, repr(v)]
