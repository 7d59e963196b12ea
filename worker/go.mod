module supergraph/worker

go 1.26.8
