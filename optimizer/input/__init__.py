"""Reading and writing instance files."""

from optimizer.input.load import load_instance, parse_raw

__all__ = ["load_instance", "parse_raw"]
