-- A Bulk Change batch records each item's outcome by updating the item's row. Items are
-- written all at once when the job starts, so their pages were full: every outcome's new row
-- version went to another page and added an entry to both of the table's indexes. With half of
-- each page kept free, the new version stays beside the old one and the indexes are not
-- touched (a heap-only update), since no indexed column changes. SQLite rewrites a row in
-- place and has no such setting.
ALTER TABLE bulk_items SET (fillfactor = 50);
