package content

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"supergraph/platform/demo"
	"supergraph/platform/identity"
	"supergraph/subgraphs/content/community"
)

// seedChannel is one demo channel with its members and a conversation.
type seedChannel struct {
	slug, owner, name, description string
	visibility                     community.Visibility
	members                        []string
	post                           [2]string // title, body
	comments                       []string  // each replies to the one before
}

var seedChannels = []seedChannel{
	{"go-developers", demo.Alice, "Go developers", "Questions, answers and news about Go and its tools.",
		community.Public, []string{demo.Carol, demo.Dave},
		[2]string{"Which router do you use for GraphQL federation?", "We run a Go router in front of five subgraphs. **Ask me anything** about it."},
		[]string{"How do you batch entity lookups?", "A dataloader per operation: one statement per level.", "Thanks, that helps!"}},
	{"freelance-tips", demo.Carol, "Freelance tips", "Pricing, clients and getting paid: freelancers help each other.",
		community.Public, []string{demo.Alice, demo.Bob},
		[2]string{"How I price my first gigs", "Start low, collect reviews, then raise prices every ten orders."},
		[]string{"Do you offer revisions for free?", "Two rounds, then it is a new order."}},
	{"sellers-lounge", demo.Bob, "Sellers' lounge", "A private room for marketplace sellers.",
		community.Private, []string{demo.Carol},
		[2]string{"Shipping partners", "Who do you ship with, and what does it cost per parcel?"},
		[]string{"I use the national post; flat rate."}},
}

func principal(username string) identity.Principal {
	return identity.Principal{UserID: demo.UserID(username).String()}
}

// Seed creates the demo channels that are missing, through the domain, as
// the demo accounts.
func Seed(ctx context.Context, svc *community.Service, log *slog.Logger) error {
	for _, sc := range seedChannels {
		owner := principal(sc.owner)
		if ch, err := svc.ChannelBySlug(ctx, owner, sc.slug); err != nil {
			return err
		} else if ch != nil {
			continue
		}
		ch, err := svc.CreateChannel(ctx, owner, community.CreateChannelInput{
			Slug: sc.slug, Name: sc.name, Description: sc.description, Visibility: sc.visibility})
		if err != nil {
			return fmt.Errorf("seed channel %s: %w", sc.slug, err)
		}
		for _, m := range sc.members {
			if sc.visibility == community.Private {
				if _, err := svc.InviteToChannel(ctx, owner, ch.ID, demo.UserID(m)); err != nil {
					return fmt.Errorf("seed channel %s: %w", sc.slug, err)
				}
			}
			if _, err := svc.JoinChannel(ctx, principal(m), ch.ID); err != nil {
				return fmt.Errorf("seed channel %s: %w", sc.slug, err)
			}
		}
		post, err := svc.CreatePost(ctx, owner, community.CreatePostInput{ChannelID: ch.ID, Title: sc.post[0], Body: sc.post[1], Publish: true})
		if err != nil {
			return fmt.Errorf("seed channel %s: %w", sc.slug, err)
		}
		var parent *community.Comment
		authors := append([]string{}, sc.members...)
		authors = append(authors, sc.owner)
		for i, body := range sc.comments {
			var parentID *uuid.UUID
			if parent != nil {
				parentID = &parent.ID
			}
			c, err := svc.AddComment(ctx, principal(authors[i%len(authors)]), post.ID, parentID, body)
			if err != nil {
				return fmt.Errorf("seed channel %s: %w", sc.slug, err)
			}
			parent = &c
		}
		for _, m := range authors {
			if _, err := svc.LikePost(ctx, principal(m), post.ID, true); err != nil {
				return fmt.Errorf("seed channel %s: %w", sc.slug, err)
			}
		}
		if sc.slug == deepThreadChannel {
			if err := seedDeepThread(ctx, svc, post.ID, authors); err != nil {
				return fmt.Errorf("seed channel %s: %w", sc.slug, err)
			}
		}
		log.InfoContext(ctx, "seeded channel", "slug", sc.slug)
	}
	return nil
}

// deepThreadChannel's post gets a long conversation: a thread eight replies
// deep with side branches, some liked, to try Post.thread and
// Comment.replies on.
const deepThreadChannel = "go-developers"

func seedDeepThread(ctx context.Context, svc *community.Service, post uuid.UUID, authors []string) error {
	var parent *uuid.UUID
	for depth := range 8 {
		who := authors[depth%len(authors)]
		c, err := svc.AddComment(ctx, principal(who), post, parent, fmt.Sprintf("Level %d: and one more thing about batching.", depth+1))
		if err != nil {
			return err
		}
		if depth%2 == 0 {
			side, err := svc.AddComment(ctx, principal(authors[(depth+1)%len(authors)]), post, &c.ID, "A side note on this point.")
			if err != nil {
				return err
			}
			if _, err := svc.LikeComment(ctx, principal(who), side.ID, true); err != nil {
				return err
			}
		}
		if _, err := svc.LikeComment(ctx, principal(authors[(depth+2)%len(authors)]), c.ID, true); err != nil {
			return err
		}
		parent = &c.ID
	}
	return nil
}
