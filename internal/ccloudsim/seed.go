package ccloudsim

// SeedPeering stores (or replaces) a peering. Phase defaults to "READY" and
// the timestamps to the clock.
func (s *Server) SeedPeering(p Peering) {
	p = p.clone()
	if p.Phase == "" {
		p.Phase = "READY"
	}
	now := s.opts.Now()
	if p.CreatedAt.IsZero() {
		p.CreatedAt = now
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = p.CreatedAt
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peerings[p.ID] = p
}

// SeedIntegration stores (or replaces) an integration; the timestamps default to the clock.
func (s *Server) SeedIntegration(i Integration) {
	i = i.clone()
	now := s.opts.Now()
	if i.CreatedAt.IsZero() {
		i.CreatedAt = now
	}
	if i.UpdatedAt.IsZero() {
		i.UpdatedAt = i.CreatedAt
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.integrations[i.ID] = i
}

// Peering returns a copy of the stored peering.
func (s *Server) Peering(id string) (Peering, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.peerings[id]
	return p.clone(), ok
}

// Integration returns a copy of the stored integration.
func (s *Server) Integration(id string) (Integration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.integrations[id]
	return i.clone(), ok
}

// Demo resource ids seeded by SeedDemo.
const (
	DemoEnvironment = "env-demo"
	DemoNetwork     = "n-demo1"
)

// SeedDemo seeds peerings p-demo1..p-demo3 in env-demo (AWS, GCP, Azure) and
// integrations i-slack1 (Slack), i-hook1 (Webhook) and i-role1 (RoleEmail,
// not updatable).
func (s *Server) SeedDemo() {
	s.SeedPeering(Peering{ID: "p-demo1", DisplayName: "demo-aws-peering", EnvironmentID: DemoEnvironment, NetworkID: DemoNetwork,
		Cloud: map[string]any{"kind": "AwsPeering", "account": "000000000000", "vpc": "vpc-00000000000000000",
			"routes": []any{"10.108.16.0/21"}, "customer_region": "us-east-1"}})
	s.SeedPeering(Peering{ID: "p-demo2", DisplayName: "demo-gcp-peering", EnvironmentID: DemoEnvironment, NetworkID: DemoNetwork,
		Cloud: map[string]any{"kind": "GcpPeering", "project": "my-gcp-project", "vpc_network": "my-gcp-network", "import_custom_routes": false}})
	s.SeedPeering(Peering{ID: "p-demo3", DisplayName: "demo-azure-peering", EnvironmentID: DemoEnvironment, NetworkID: DemoNetwork,
		Cloud: map[string]any{"kind": "AzurePeering", "tenant": "00000000-0000-0000-0000-000000000000",
			"vnet":            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-rg/providers/Microsoft.Network/virtualNetworks/my-vnet",
			"customer_region": "eastus2"}})
	s.SeedIntegration(Integration{ID: "i-slack1", DisplayName: "Slack integration", Description: "A Slack channel integration",
		Target: map[string]any{"kind": "Slack", "webhook_url": "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"}})
	s.SeedIntegration(Integration{ID: "i-hook1", DisplayName: "Webhook integration", Description: "A generic webhook",
		Target: map[string]any{"kind": "Webhook", "url": "https://example.com/hooks/confluent"}})
	s.SeedIntegration(Integration{ID: "i-role1", DisplayName: "Org admins", Description: "Email to organization admins",
		Target: map[string]any{"kind": "RoleEmail", "role_name": "OrganizationAdmin"}})
}
