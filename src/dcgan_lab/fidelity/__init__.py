"""The Keras recipe run in Keras itself, beside ``experiment=keras`` (needs ``.[fidelity]``)."""
