"""``python -m allinone.evaluation.vot_entry``: the module a VOT ``trackers.ini`` names (traxpython)."""
from .integrations import run_vot_server

if __name__ == "__main__":
    run_vot_server()
