"""Reading queries: syntax (`syntax`: free text segmented like documents) and the plan
(`plan`: nodes mapped onto vnsearch's fields with ranking weights)."""
