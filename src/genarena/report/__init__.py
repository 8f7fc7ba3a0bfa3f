"""Reports: sample pictures, training curves and the self-contained report.html of a run."""
