"""The search window, one widget per module: `window.SearchWindow` wires `query_field.QueryField`,
`filter_panel.FilterPanel` and `detail_pane.DetailPane` around the results grid (`desktop/results_model.py`).
"""
