package pending

// SetBeforeGC runs f between GC's read of the ledger and its script, so a test can change the
// ledger in that window.
func SetBeforeGC(w *Writer, f func()) { w.beforeGC = f }
