"""Route and time-slot optimizer (OR-Tools). A pure core: no database, web or Temporal imports."""
