package gigs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"supergraph/platform/demo"
	"supergraph/platform/identity"
)

// seedGig is one demo gig; its id derives from its slug.
type seedGig struct {
	slug, owner, category, title, description string
	tags                                      []string
	basePrice                                 int32 // cents; STANDARD and PREMIUM cost 2x and 4x
	days                                      int32
	draft                                     bool
}

var seedGigs = []seedGig{
	{"alice-logo", demo.Alice, "logo-design", "I will design a minimalist logo for your brand",
		"A clean, timeless logo with vector files, a colour palette and a short brand sheet. Three concepts to choose from.",
		[]string{"logo", "branding", "minimalist", "vector"}, 4500, 3, false},
	{"alice-landing", demo.Alice, "frontend", "I will build a fast landing page in React",
		"A responsive landing page with React and Tailwind, tuned for Core Web Vitals, deployed to your hosting.",
		[]string{"react", "landing page", "tailwind", "frontend"}, 15000, 5, false},
	{"alice-api", demo.Alice, "backend-apis", "I will write a REST or GraphQL API in Go",
		"A documented Go service with PostgreSQL, tests and a Dockerfile: REST or GraphQL, your choice.",
		[]string{"go", "graphql", "api", "postgresql"}, 30000, 7, false},
	{"alice-illustration", demo.Alice, "illustration", "I will draw a flat vector illustration",
		"Friendly flat illustrations for websites, apps and presentations, delivered as SVG and PNG.",
		[]string{"illustration", "vector", "flat design"}, 6000, 4, false},
	{"alice-mobile", demo.Alice, "mobile-apps", "I will prototype your mobile app in Flutter",
		"A clickable Flutter prototype for iOS and Android, ready for user testing.",
		[]string{"flutter", "mobile", "prototype"}, 40000, 14, true},
	{"carol-seo", demo.Carol, "seo", "I will audit your website SEO and fix the basics",
		"Technical SEO audit: crawl errors, page speed, metadata and structured data, with a prioritised fix list.",
		[]string{"seo", "audit", "google", "website"}, 8000, 4, false},
	{"carol-blog", demo.Carol, "articles-blog-posts", "I will write engaging blog posts about technology",
		"Researched, original articles of 1,000 words on software, startups and productivity, optimised for search.",
		[]string{"blog", "writing", "content", "technology"}, 5000, 3, false},
	{"carol-translation", demo.Carol, "translation", "I will translate English to Russian and back",
		"Native-quality translation of websites, apps and documents between English and Russian.",
		[]string{"translation", "russian", "english", "localization"}, 3000, 2, false},
	{"carol-video", demo.Carol, "video-editing", "I will edit your YouTube videos",
		"Cuts, colour, captions and sound for YouTube videos up to 20 minutes, with a thumbnail.",
		[]string{"video editing", "youtube", "captions"}, 7000, 5, false},
	{"carol-voice", demo.Carol, "voice-over", "I will record a warm English voice over",
		"Studio-quality voice over for explainers, ads and audiobooks, delivered as WAV and MP3.",
		[]string{"voice over", "audio", "narration"}, 4000, 2, false},
	{"carol-social", demo.Carol, "social-media", "I will plan a month of social media posts",
		"A content calendar with 20 posts, captions and hashtags for Instagram, LinkedIn or X.",
		[]string{"social media", "marketing", "instagram", "content plan"}, 9000, 6, false},
	{"carol-mixing", demo.Carol, "mixing-mastering", "I will mix and master your song",
		"Professional mixing and mastering of one song, with two rounds of changes.",
		[]string{"mixing", "mastering", "music"}, 12000, 5, false},
}

// seedOrder is one demo order and how far it goes.
type seedOrder struct {
	name, gig, buyer string
	tier             PackageTier
	steps            []string // start, deliver, revise, complete, cancel
	rating           int32
	review, reply    string
}

var seedOrders = []seedOrder{
	{"dave-logo", "alice-logo", demo.Dave, PackageTierSTANDARD,
		[]string{"start", "deliver", "revise", "deliver", "complete"}, 5,
		"Great concepts, quick revision. Exactly what we needed.", "Thank you, Dave! Enjoy the new brand."},
	{"dave-api", "alice-api", demo.Dave, PackageTierBASIC, []string{"start", "deliver"}, 0, "", ""},
	{"dave-landing", "alice-landing", demo.Dave, PackageTierPREMIUM, []string{"start"}, 0, "", ""},
	{"dave-seo", "carol-seo", demo.Dave, PackageTierBASIC,
		[]string{"start", "deliver", "complete"}, 4, "Useful audit with clear priorities.", ""},
	{"bob-blog", "carol-blog", demo.Bob, PackageTierSTANDARD, nil, 0, "", ""},
	{"bob-video", "carol-video", demo.Bob, PackageTierBASIC, []string{"cancel"}, 0, "", ""},
	{"carol-illustration", "alice-illustration", demo.Carol, PackageTierPREMIUM,
		[]string{"start", "deliver", "complete"}, 5, "Lovely style and very responsive.", "It was a pleasure, Carol!"},
}

func principal(username string, roles ...string) identity.Principal {
	return identity.Principal{UserID: demo.UserID(username).String(), Roles: roles}
}

// Seed creates the demo gigs, orders (in every state), reviews and
// portfolio items that do not exist yet, through the same rules and events
// as the API: running it again changes nothing. It references the users
// service's demo accounts by their derived ids (platform/demo).
func (s *Service) Seed(ctx context.Context, log *slog.Logger) error {
	categories, err := s.Categories(ctx)
	if err != nil {
		return err
	}
	bySlug := map[string]uuid.UUID{}
	for _, c := range categories {
		bySlug[c.Slug] = c.ID
	}
	ids := make([]uuid.UUID, len(seedGigs))
	for i, g := range seedGigs {
		ids[i] = demo.ID("gig", g.slug)
	}
	existing, err := s.Gigs(ctx, ids)
	if err != nil {
		return err
	}
	created := 0
	for i, g := range seedGigs {
		if _, ok := existing[ids[i]]; ok {
			continue
		}
		status := GigStatusACTIVE
		if g.draft {
			status = GigStatusDRAFT
		}
		_, err := s.createGig(ctx, principal(g.owner, identity.RoleFreelancer), ids[i], GigInput{
			Title: g.title, Description: g.description, CategoryID: bySlug[g.category], Tags: g.tags, Status: &status,
			Packages: []PackageInput{
				{Tier: PackageTierBASIC, Title: "Basic", Description: "The essentials.", PriceCents: g.basePrice,
					DeliveryDays: g.days, Revisions: 1, Features: []string{"1 concept", "source files"}},
				{Tier: PackageTierSTANDARD, Title: "Standard", Description: "The usual choice.", PriceCents: 2 * g.basePrice,
					DeliveryDays: g.days + 2, Revisions: 2, Features: []string{"2 concepts", "source files", "priority support"}},
				{Tier: PackageTierPREMIUM, Title: "Premium", Description: "Everything, faster.", PriceCents: 4 * g.basePrice,
					DeliveryDays: g.days + 4, Revisions: 5, Features: []string{"3 concepts", "source files", "priority support", "commercial licence"}},
			},
		})
		if err != nil {
			return fmt.Errorf("seed gig %s: %w", g.slug, err)
		}
		created++
	}

	orderIDs := make([]uuid.UUID, len(seedOrders))
	for i, o := range seedOrders {
		orderIDs[i] = demo.ID("order", o.name)
	}
	existingOrders, err := s.Orders(ctx, orderIDs)
	if err != nil {
		return err
	}
	placed := 0
	for i, so := range seedOrders {
		if _, ok := existingOrders[orderIDs[i]]; ok {
			continue
		}
		if err := s.seedOrder(ctx, orderIDs[i], so); err != nil {
			return fmt.Errorf("seed order %s: %w", so.name, err)
		}
		placed++
	}

	items := 0
	for _, it := range []struct{ name, owner, title, description, gig string }{
		{"alice-brand", demo.Alice, "Brand identity for a coffee roaster", "Logo, packaging and signage for a small-batch roaster.", "alice-logo"},
		{"alice-dashboard", demo.Alice, "Analytics dashboard", "A React dashboard over a Go GraphQL API.", "alice-api"},
		{"carol-podcast", demo.Carol, "Podcast intro voice over", "Intro and outro for a weekly tech podcast.", "carol-voice"},
	} {
		id := demo.ID("portfolio", it.name)
		if _, err := s.q.GetPortfolioItemForUpdate(ctx, id); err == nil {
			continue
		}
		gig := demo.ID("gig", it.gig)
		if _, err := s.addPortfolioItem(ctx, principal(it.owner, identity.RoleFreelancer), id, PortfolioInput{
			Title: it.title, Description: it.description, GigID: &gig,
		}); err != nil {
			return fmt.Errorf("seed portfolio %s: %w", it.name, err)
		}
		items++
	}
	log.Info("seeded freelance demo data", "gigs", created, "orders", placed, "portfolio_items", items)
	return nil
}

func (s *Service) seedOrder(ctx context.Context, id uuid.UUID, so seedOrder) error {
	var gig seedGig
	for _, g := range seedGigs {
		if g.slug == so.gig {
			gig = g
		}
	}
	buyer := principal(so.buyer)
	seller := principal(gig.owner, identity.RoleFreelancer)
	if _, err := s.placeOrder(ctx, buyer, id, demo.ID("gig", so.gig), so.tier, "Demo order: see the gig description."); err != nil {
		return err
	}
	for _, step := range so.steps {
		var err error
		switch step {
		case "start":
			_, err = s.StartOrder(ctx, seller, id)
		case "deliver":
			_, err = s.DeliverOrder(ctx, seller, id, "Here is the delivery; the files are attached.")
		case "revise":
			_, err = s.RequestRevision(ctx, buyer, id, "Could you try a darker colour palette?")
		case "complete":
			_, err = s.CompleteOrder(ctx, buyer, id)
		case "cancel":
			_, err = s.CancelOrder(ctx, buyer, id, nil)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", step, err)
		}
	}
	if so.rating == 0 {
		return nil
	}
	r, err := s.leaveReview(ctx, buyer, demo.ID("review", so.name), id, so.rating, so.review)
	if err != nil {
		return fmt.Errorf("review: %w", err)
	}
	if so.reply != "" {
		if _, err := s.ReplyToReview(ctx, seller, r.ID, so.reply); err != nil {
			return fmt.Errorf("reply: %w", err)
		}
	}
	return nil
}
