// Why a token cannot be verified with the key given: thrown by the key and header checks, turned
// into a "Cannot verify" verdict by verifyToken (and never shown as an exception).

export class InspectRefusal extends Error {}

export function refuse(message: string): never {
  throw new InspectRefusal(message);
}
