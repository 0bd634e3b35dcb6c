-- Which runner holds a started import. Every batch's transaction writes through it, so an
-- instance that took over a stalled import (its runner stopped beating) is the only one whose
-- batches still commit.
ALTER TABLE import_jobs ADD COLUMN runner TEXT;
