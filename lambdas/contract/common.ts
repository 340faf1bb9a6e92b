import { z } from 'zod';
import { named } from './route';

/** Schemas more than one part of the API answers with. */

export const actorSchema = named(
  'Actor',
  z.object({ id: z.string(), name: z.string() }).strict(),
  'Who did something: a user or machine client by its token’s subject and name, or Switchboard itself (`switchboard:maintenance`, `switchboard:circuit-breaker`, `switchboard:deploy`)',
);
