module supergraph/sql

go 1.26.8
