package store

// Page trims items, read with a limit of limit+1, to one page of limit
// and returns the cursor of the next page: the id of the page's last
// item, or "" when there is no next page.
func Page[T any](items []T, limit int, id func(T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, id(items[limit-1])
}
