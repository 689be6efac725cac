"""zerolint: catch the bugs that keep a model's accuracy at zero or its loss flat."""

__version__ = "0.1.0"
