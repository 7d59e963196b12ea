module supergraph/router

go 1.26.8
