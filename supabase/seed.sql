-- The Mos Eisley cantina (synthesis/scenarios/mos_eisley.yaml), for `supabase db reset`, which
-- runs this after the migrations (config.toml [db.seed]). Fixed ids, so docs/SUPABASE.md can name
-- them. No users: players are Supabase Auth users, made through the Auth admin API, never by
-- inserting into auth.users; docs/SUPABASE.md ("Players") then seats them:
--   frame_members (the GM and each player) and characters.user_id (each player's character).
-- Until a player is seated, their character has no user (an NPC to the actors).
-- tests/integration/test_supabase_project.py checks this file against the scenario file.

INSERT INTO public.frames (id, name, mode, world, scenario, pscale_windows, perceive, actor_budget_per_hour)
VALUES ('8909a795-a048-5274-ab80-6096516728a8', $t$Mos Eisley Cantina$t$, $t$personal$t$,
        $t$A desert spaceport on the edge of settled space, under the rule of a distant Empire
whose garrison keeps order with patrols and informants. Twin suns, sand in everything.
Blasters are common and legal to carry; drawing one indoors is a serious provocation.
The cantina is a low, dim, crowded room: a long bar, booths along the walls, a band on
a small stage, a back door to the alley. The bartender does not serve droids.$t$,
        $t$Late afternoon. The cantina is busy. A patrol of two Imperial troopers has just been
seen two streets away. The band is playing. Everyone here has a reason to be here, and
most of them would rather not say it.$t$,
        $t${}$t$::jsonb, true, 120)
ON CONFLICT (id) DO NOTHING;

INSERT INTO public.affiliations (id, frame_id, name, universal, internal, external)
VALUES ('91965fd5-8fdc-5bce-915d-9ee5f3f088a8', '8909a795-a048-5274-ab80-6096516728a8', $t$Rebel Cell$t$,
        $t$No one admits to being part of any rebel group in Mos Eisley.$t$,
        $t$The stolen garrison patrol codes must reach the contact, who wears a red scarf and will sit at the end of the bar. Code phrase: 'Is the Dune Sea calm tonight?'$t$,
        $t$Rumoured troublemakers and dreamers; most locals think they are a myth.$t$)
ON CONFLICT DO NOTHING;

INSERT INTO public.affiliations (id, frame_id, name, universal, internal, external)
VALUES ('5acc9ee4-1502-5186-8339-7f96595bbbbd', '8909a795-a048-5274-ab80-6096516728a8', $t$Imperial Garrison$t$,
        $t$The Empire's local garrison keeps order in Mos Eisley.$t$,
        $t$Patrol codes were stolen from the garrison last night by a freighter captain. The sergeant has orders to recover them quietly, before the governor hears.$t$,
        $t$Arrogant, heavy-handed, easy to bribe for small things.$t$)
ON CONFLICT DO NOTHING;

INSERT INTO public.affiliations (id, frame_id, name, universal, internal, external)
VALUES ('c26d4448-afb1-5807-8619-28e2c3738b50', '8909a795-a048-5274-ab80-6096516728a8', $t$Bounty Hunters' Guild$t$,
        $t$Licensed hunters who take contracts posted by anyone who can pay.$t$,
        $t$Open contract: 5,000 credits for freighter captain Kessa Vorn, alive, posted by a Hutt she owes money to.$t$,
        $t$Dangerous professionals; best not to make eye contact.$t$)
ON CONFLICT DO NOTHING;

INSERT INTO public.characters (id, frame_id, name, handle, universal, internal, external, model, actions, idle_seconds)
VALUES ('341b8764-554e-564e-829d-985a799617e6', '8909a795-a048-5274-ab80-6096516728a8', $t$Kessa Vorn$t$, $t$kessa_vorn$t$,  -- player: kessa
        $t$Captain of the light freighter Dusk Runner, docked in bay 94.$t$,
        $t$Carries the stolen Imperial patrol codes in a data chip in her left boot. Owes a Hutt 4,000 credits she does not have.$t$,
        $t$Cocky, quick-talking pilot who always seems to be in a hurry.$t$,
        NULL,
        $t$[{"text": "I slide into the corner booth with my back to the wall and watch the door", "pscale": -1}, {"text": "I order a drink and ask the bartender, quietly, whether anyone has been asking for me", "pscale": -1}, {"text": "I walk to the end of the bar and say: 'Is the Dune Sea calm tonight?'", "pscale": -2}, {"text": "I draw my blaster under the table and aim it at the hunter", "pscale": -2}, {"text": "I dive behind the bar", "pscale": -3}, {"text": "I slip out through the back door into the alley", "pscale": -1}]$t$::jsonb, NULL)
ON CONFLICT DO NOTHING;

INSERT INTO public.memberships (frame_id, character_id, affiliation_id, hidden)
VALUES ('8909a795-a048-5274-ab80-6096516728a8', '341b8764-554e-564e-829d-985a799617e6', '91965fd5-8fdc-5bce-915d-9ee5f3f088a8', true)
ON CONFLICT DO NOTHING;

INSERT INTO public.characters (id, frame_id, name, handle, universal, internal, external, model, actions, idle_seconds)
VALUES ('f25944f1-2a2a-508a-b4f0-07a663c3b2cb', '8909a795-a048-5274-ab80-6096516728a8', $t$Dax Orrun$t$, $t$dax_orrun$t$,  -- player: dax
        $t$A hunter with a Guild licence, in town for a few days.$t$,
        $t$Hunting Kessa Vorn for the 5,000-credit contract. Does not know or care about any codes. Would rather take her quietly than start a fight in a crowded room.$t$,
        $t$Quiet, watchful, heavily armed; people give him room.$t$,
        NULL,
        $t$[{"text": "I lean on the bar and study every face in the room", "pscale": -1}, {"text": "I walk over to the corner booth and sit down opposite the freighter captain", "pscale": -2}, {"text": "I tell her calmly: 'There is a contract on you. Come quietly and nobody gets hurt.'", "pscale": -2}, {"text": "I grab her wrist before she can reach her blaster", "pscale": -3}, {"text": "I step between the door and her table", "pscale": -2}]$t$::jsonb, NULL)
ON CONFLICT DO NOTHING;

INSERT INTO public.memberships (frame_id, character_id, affiliation_id, hidden)
VALUES ('8909a795-a048-5274-ab80-6096516728a8', 'f25944f1-2a2a-508a-b4f0-07a663c3b2cb', 'c26d4448-afb1-5807-8619-28e2c3738b50', false)
ON CONFLICT DO NOTHING;

INSERT INTO public.characters (id, frame_id, name, handle, universal, internal, external, model, actions, idle_seconds)
VALUES ('e6c5e183-515a-5294-be9b-fda4cc699428', '8909a795-a048-5274-ab80-6096516728a8', $t$Tobin Reez$t$, $t$tobin_reez$t$,  -- player: tobin
        $t$A young moisture farmer's nephew, in from the dunes to sell a load of parts.$t$,
        $t$Is the rebel contact. Wears a red scarf. Has never done anything like this before and is terrified. Has strange flashes of what people are about to do.$t$,
        $t$A nervous farm kid who looks out of place.$t$,
        NULL,
        $t$[{"text": "I sit at the end of the bar, adjust my red scarf and try not to stare at anyone", "pscale": -1}, {"text": "I answer: 'Calm enough, if you know where to walk.'", "pscale": -2}, {"text": "I knock my drink over to cause a distraction", "pscale": -3}, {"text": "I shout a warning: 'Troopers at the door!'", "pscale": -3}, {"text": "I haggle with a junk dealer about the price of my parts for a while", "pscale": 0}]$t$::jsonb, NULL)
ON CONFLICT DO NOTHING;

INSERT INTO public.memberships (frame_id, character_id, affiliation_id, hidden)
VALUES ('8909a795-a048-5274-ab80-6096516728a8', 'e6c5e183-515a-5294-be9b-fda4cc699428', '91965fd5-8fdc-5bce-915d-9ee5f3f088a8', true)
ON CONFLICT DO NOTHING;

INSERT INTO public.characters (id, frame_id, name, handle, universal, internal, external, model, actions, idle_seconds)
VALUES ('a4fe58e2-cebe-5d4e-b61b-755b3316f6ff', '8909a795-a048-5274-ab80-6096516728a8', $t$Gorrak$t$, $t$gorrak$t$,  -- an NPC
        $t$Owner and bartender of the cantina for twenty years.$t$,
        $t$Sells information to the garrison sergeant for a few credits a week. Hates trouble that breaks furniture.$t$,
        $t$Grumpy, unimpressed, sees everything and says little.$t$,
        NULL,
        $t$[{"text": "I slam a glass down and growl: 'No blasters in my bar.'", "pscale": -2}, {"text": "I polish glasses and listen to the booth in the corner", "pscale": -1}, {"text": "I signal the troopers outside with a nod toward the corner booth", "pscale": -2}]$t$::jsonb, NULL)
ON CONFLICT DO NOTHING;

INSERT INTO public.characters (id, frame_id, name, handle, universal, internal, external, model, actions, idle_seconds)
VALUES ('322ffccc-c117-5f73-b360-e4c0b7366504', '8909a795-a048-5274-ab80-6096516728a8', $t$Sergeant Vell$t$, $t$sergeant_vell$t$,  -- an NPC
        $t$Sergeant of the local Imperial patrol.$t$,
        $t$Looking for a freighter captain who stole patrol codes; has a vague description: a woman, a pilot, in a hurry.$t$,
        $t$Bored, sunburnt, officious; enjoys throwing his weight around.$t$,
        NULL,
        $t$[{"text": "I walk in with two troopers and demand to see everyone's papers", "pscale": -1}, {"text": "I question the bartender about any pilots who came in today", "pscale": -1}, {"text": "I order the back door covered", "pscale": -2}]$t$::jsonb, NULL)
ON CONFLICT DO NOTHING;

INSERT INTO public.memberships (frame_id, character_id, affiliation_id, hidden)
VALUES ('8909a795-a048-5274-ab80-6096516728a8', '322ffccc-c117-5f73-b360-e4c0b7366504', '5acc9ee4-1502-5186-8339-7f96595bbbbd', false)
ON CONFLICT DO NOTHING;
