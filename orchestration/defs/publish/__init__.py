"""Write-audit-publish: ``published_marts`` copies checked candidate marts into the serving file BI reads."""
