module github.com/replayhook/replayhook

go 1.26.8
