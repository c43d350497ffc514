"""The ``neurofit`` command line."""
