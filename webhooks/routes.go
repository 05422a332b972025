package webhooks

// routes is the whole API in one place (docs/openapi.yaml describes it).
func (s *Server) routes() {
	e := s.echo
	e.Use(s.requestID, s.securityHeaders, s.accessLog, s.recoverPanics, s.refuseOptions)

	// Ingest: vendors POST signed deliveries here.
	e.POST("/webhooks/:source", s.handleIngest, s.limitIngest)

	// Lookup API for the chat layer, bearer token, product-scoped.
	// (Middleware per route, not per group: a group's middleware turns a
	// wrong method into 404 instead of 405.)
	auth := s.requireToken
	e.GET("/v1/users/:user_id", s.handleUser, auth)
	e.GET("/v1/users/:user_id/activity", s.handleUserActivity, auth)
	e.DELETE("/v1/users/:user_id", s.handleForgetUser, auth)
	e.GET("/v1/sessions/:session_id", s.handleSession, auth)
	e.GET("/v1/deliveries/rejected", s.handleRejected, auth)
	e.GET("/v1/drift", s.handleDriftJSON, auth)
	// The SDK-native Server-Sent Events stream of stored payloads.
	e.GET("/stream/:product_id", s.handleStream, auth)
	e.DELETE("/v1/drift", s.handleDriftReset, auth)

	// Push forwarding: targets and their dead letters (tokens allowed for all products).
	e.GET("/v1/forwards", s.handleForwards, auth)
	e.GET("/v1/forwards/:target/dead", s.handleForwardDead, auth)
	e.POST("/v1/forwards/:target/dead/redeliver", s.handleForwardRedeliver, auth)
	e.DELETE("/v1/forwards/:target/dead", s.handleForwardDropDead, auth)

	// The identity-drift report as a page (Basic auth with the token as password, or Bearer).
	e.GET("/drift", s.handleDriftPage, auth)

	// What this is, for a person or a probe that opens the base URL.
	e.GET("/", s.handleRoot)

	// Operations.
	e.GET("/livez", s.handleLivez)
	e.GET("/readyz", s.handleReadyz)
	e.HEAD("/livez", s.handleLivez)
	e.HEAD("/readyz", s.handleReadyz)
	e.GET("/metrics", s.handleMetrics)
}
