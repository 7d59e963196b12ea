module supergraph/subgraphs

go 1.26.8
