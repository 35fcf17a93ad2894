"""Reading and writing instance files."""

from optimizer.input.load import default_instance_path, load_instance, parse_raw

__all__ = ["default_instance_path", "load_instance", "parse_raw"]
