"""A graph made into Python: the model class, the whole training program, and loading it."""
